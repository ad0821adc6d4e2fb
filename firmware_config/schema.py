"""The one device configuration schema (pydantic v2): unknown keys rejected, every field titled and described."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool, StrictInt, field_validator, model_validator

from firmware_config.pins import PIN_HASH_PATTERN, hash_pin, verify_pin
from kiosk.domain.languages import DEFAULT_LANGUAGE, LANGUAGES, Language

CONFIG_VERSION = 2
"""The version this firmware writes; older files are migrated on load (see `firmware_config.migrations`)."""

# Venue and device ids end up in MQTT topics (kiosk/v1/{venue}/{device}/...): no '/', '+', '#' or spaces.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


RESERVED_DEVICE_IDS = frozenset({"central"})


class Role(StrEnum):
    """What a kiosk is for: scanning at a door, selling at a counter, or both."""

    DOOR = "door"
    SALES = "sales"
    BOTH = "both"


class DeviceConfig(_Section):
    id: Annotated[
        str | None,
        Field(
            title="Device id",
            description="Stable id of this kiosk in MQTT topics and scan records. Leave it out to use the id "
            "created on the device by `kiosk-provision firstboot` (state_dir/identity/device.json).",
            pattern=SLUG_PATTERN,
        ),
    ] = None
    venue: Annotated[
        str,
        Field(
            title="Venue",
            description="Venue id as known to central (lower case, digits, '-' or '_').",
            pattern=SLUG_PATTERN,
        ),
    ]
    gate: Annotated[
        str,
        Field(
            title="Gate",
            description="Door or counter this kiosk stands at, as shown on reports (e.g. 'main', 'foyer-left').",
            min_length=1,
            max_length=40,
        ),
    ]
    role: Annotated[
        Role,
        Field(
            title="Role",
            description="door: scans tickets only and can never sell; sales: sells and prints; both: does both.",
        ),
    ] = Role.DOOR

    @field_validator("id")
    @classmethod
    def _not_a_reserved_account(cls, value: str | None) -> str | None:
        if value in RESERVED_DEVICE_IDS:  # the venue broker gives that account central's role (accounts.py)
            raise ValueError(f"{value!r} is the central service's broker account; choose another device id")
        return value

    @property
    def can_sell(self) -> bool:
        """A door-only device cannot sell (like a scan-only API key)."""
        return self.role in (Role.SALES, Role.BOTH)

    @property
    def can_scan(self) -> bool:
        return self.role in (Role.DOOR, Role.BOTH)


class PrinterConfig(_Section):
    host: Annotated[
        str,
        Field(
            title="Printer host",
            description="IP address or host name of the Zebra printer on the venue LAN (raw TCP transport).",
            min_length=1,
            max_length=253,
        ),
    ] = "192.168.1.50"
    port: Annotated[
        StrictInt,
        Field(title="Printer port", description="Raw ZPL TCP port of the printer.", ge=1, le=65535),
    ] = 9100
    format: Annotated[
        Literal["show", "cinema"],
        Field(
            title="Label format",
            description="Infomaniak sales-pack stock: show (82×203.2 mm) or cinema (101.6×76.2 mm).",
        ),
    ] = "show"
    dpi: Annotated[
        Literal[203, 300],
        Field(title="Print resolution", description="Printer head resolution in dots per inch: 203 or 300."),
    ] = 203
    transport: Annotated[
        Literal["tcp", "cups"],
        Field(
            title="Transport",
            description="tcp: ZPL straight to host:port (status read with ~HS); cups: through a CUPS raw queue.",
        ),
    ] = "tcp"
    cups_queue: Annotated[
        str | None,
        Field(title="CUPS queue", description="Name of the CUPS raw queue; required when transport is cups."),
    ] = None

    @model_validator(mode="after")
    def _cups_needs_queue(self) -> PrinterConfig:
        if self.transport == "cups" and not self.cups_queue:
            raise ValueError("transport 'cups' needs cups_queue (the name of the CUPS raw queue)")
        return self


class CameraConfig(_Section):
    device: Annotated[
        StrictInt | str,
        Field(
            title="Camera device",
            description="V4L2 device index (0 for /dev/video0) or a device path such as /dev/v4l/by-id/....",
        ),
    ] = 0
    width: Annotated[
        StrictInt, Field(title="Frame width", description="Requested frame width in pixels.", ge=160, le=4096)
    ] = 1280
    height: Annotated[
        StrictInt, Field(title="Frame height", description="Requested frame height in pixels.", ge=120, le=2160)
    ] = 720
    fps: Annotated[StrictInt, Field(title="Frame rate", description="Requested frames per second.", ge=1, le=120)] = 30
    mjpg: Annotated[
        StrictBool,
        Field(title="MJPG", description="Ask the camera for MJPG frames (needed by most USB cameras for 720p30)."),
    ] = True

    @field_validator("device")
    @classmethod
    def _device_shape(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 0:
            raise ValueError("a device index is 0 or more")
        if isinstance(value, str) and not value.startswith("/dev/"):
            raise ValueError("a camera path starts with /dev/ (or give the index as a number)")
        return value


class BrokerConfig(_Section):
    url: Annotated[
        str,
        Field(
            title="Broker URL",
            description="The venue MQTT broker: mqtt://host[:1883] or mqtts://host[:8883] for TLS.",
        ),
    ] = "mqtt://127.0.0.1:1883"
    username: Annotated[
        str | None,
        Field(title="Broker user", description="Per-device MQTT user name (usually the device id)."),
    ] = None
    password: Annotated[
        SecretStr | None,
        Field(
            title="Broker password",
            description="Per-device MQTT password. Secret: only in the secrets file or a systemd credential.",
        ),
    ] = None
    ca_file: Annotated[
        Path | None,
        Field(title="CA file", description="PEM file of the CA that signed the broker's certificate (mqtts)."),
    ] = None
    client_cert: Annotated[
        Path | None,
        Field(title="Client certificate", description="PEM client certificate for mutual TLS (with client_key)."),
    ] = None
    client_key: Annotated[
        Path | None,
        Field(title="Client key", description="PEM private key of the client certificate (mode 0600)."),
    ] = None

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError("must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError("has no host")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError(f"has a bad port ({exc})") from None
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise ValueError("must be only scheme://host[:port] (credentials go in username and the secrets file)")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> BrokerConfig:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together")
        if (self.ca_file or self.client_cert) and not self.tls:
            raise ValueError("ca_file/client_cert need an mqtts:// url")
        return self

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)


class LanguagesConfig(_Section):
    default: Annotated[
        Language, Field(title="Default language", description="Language shown when nobody has chosen one.")
    ] = DEFAULT_LANGUAGE
    offered: Annotated[
        tuple[Language, ...],
        Field(title="Offered languages", description="Languages buyers can switch to, in button order.", min_length=1),
    ] = LANGUAGES

    @model_validator(mode="after")
    def _default_offered(self) -> LanguagesConfig:
        if len(set(self.offered)) != len(self.offered):
            raise ValueError("offered lists a language twice")
        if self.default not in self.offered:
            raise ValueError(f"default '{self.default}' is not among offered {list(self.offered)}")
        return self


class TechnicianConfig(_Section):
    pin_hash: Annotated[
        str | None,
        Field(
            title="Technician PIN hash",
            description="scrypt hash of the technician PIN (made by `kiosk-provision wizard` or "
            "`kiosk-provision hash-pin`); never the PIN itself. Without it the technician menu is locked.",
        ),
    ] = None

    @field_validator("pin_hash")
    @classmethod
    def _hash_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(PIN_HASH_PATTERN, value):
            raise ValueError("is not a PIN hash (scrypt$N$r$p$salt$hash); set it with `kiosk-provision hash-pin`")
        return value


class PathsConfig(_Section):
    database: Annotated[
        Path,
        Field(title="Database", description="SQLite device store (relative paths: from the config file's folder)."),
    ] = Path("/var/lib/kiosk/kiosk.sqlite")
    state_dir: Annotated[
        Path,
        Field(title="State directory", description="Writable state: identity, keys, last central time, logs."),
    ] = Path("/var/lib/kiosk")


class UiConfig(_Section):
    fullscreen: Annotated[
        StrictBool, Field(title="Full screen", description="Run the UI full screen (kiosk mode).")
    ] = True
    idle_timeout_s: Annotated[
        StrictInt,
        Field(
            title="Idle timeout",
            description="Seconds without a touch before a sales screen returns to the start screen.",
            ge=10,
            le=3600,
        ),
    ] = 90


class SalesConfig(_Section):
    attended: Annotated[
        StrictBool,
        Field(
            title="Attended counter",
            description="true: staff stand at this kiosk; free tariffs (price 0, e.g. invitations) are offered "
            "behind the technician PIN. false (unattended, the default): free tariffs are not offered at all.",
        ),
    ] = False


class WifiConfig(_Section):
    ssid: Annotated[str, Field(title="Wi-Fi SSID", description="Access point name.", min_length=1, max_length=32)] = (
        "Infomaniak"
    )
    psk: Annotated[
        SecretStr | None,
        Field(
            title="Wi-Fi passphrase",
            description="WPA2 passphrase (8-63 characters). Secret: only in the secrets file or a systemd credential.",
        ),
    ] = None
    country: Annotated[
        str, Field(title="Regulatory country", description="ISO country code for the radio.", pattern=r"^[A-Z]{2}$")
    ] = "CH"

    @field_validator("psk")
    @classmethod
    def _psk_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 8 <= len(value.get_secret_value()) <= 63:
            raise ValueError("a WPA2 passphrase has 8 to 63 characters")
        return value


class KioskConfig(_Section):
    """The whole device configuration, as loaded by `firmware_config.loader.load_config`."""

    version: Annotated[
        StrictInt,
        Field(
            title="Config version", description=f"Schema version of this file; this firmware writes {CONFIG_VERSION}."
        ),
    ] = CONFIG_VERSION
    device: Annotated[DeviceConfig, Field(title="Device", description="Who this kiosk is and what it may do.")]
    printer: Annotated[PrinterConfig, Field(title="Printer", description="The label printer.")] = PrinterConfig()
    camera: Annotated[CameraConfig, Field(title="Camera", description="The scanning camera.")] = CameraConfig()
    broker: Annotated[BrokerConfig, Field(title="Broker", description="The venue MQTT broker.")] = BrokerConfig()
    languages: Annotated[LanguagesConfig, Field(title="Languages", description="UI languages.")] = LanguagesConfig()
    technician: Annotated[TechnicianConfig, Field(title="Technician", description="Technician access.")] = (
        TechnicianConfig()
    )
    paths: Annotated[PathsConfig, Field(title="Paths", description="Where the device keeps its data.")] = PathsConfig()
    ui: Annotated[UiConfig, Field(title="UI", description="Touch screen behaviour.")] = UiConfig()
    sales: Annotated[SalesConfig, Field(title="Sales", description="Walk-up selling.")] = SalesConfig()
    wifi: Annotated[
        WifiConfig | None, Field(title="Wi-Fi", description="Wireless network; leave out on wired devices.")
    ] = None

    @field_validator("version")
    @classmethod
    def _current_version(cls, value: int) -> int:
        if value != CONFIG_VERSION:
            raise ValueError(f"is {value}; this firmware reads version {CONFIG_VERSION} (load through load_config)")
        return value

    @model_validator(mode="after")
    def _attended_needs_a_selling_role(self) -> KioskConfig:
        if self.sales.attended and not self.device.can_sell:
            raise ValueError("sales.attended is true but device.role is 'door': a door kiosk sells nothing")
        return self

    @property
    def can_sell(self) -> bool:
        return self.device.can_sell

    @property
    def device_id(self) -> str:
        """The configured id, else the first-boot one (filled in by load_config); LookupError before first boot."""
        if self.device.id is None:
            raise LookupError("this device has no id yet: run `kiosk-provision firstboot` (or set device.id)")
        return self.device.id


__all__ = [
    "CONFIG_VERSION",
    "LANGUAGES",
    "BrokerConfig",
    "CameraConfig",
    "DeviceConfig",
    "KioskConfig",
    "LanguagesConfig",
    "PathsConfig",
    "PrinterConfig",
    "Role",
    "SalesConfig",
    "TechnicianConfig",
    "UiConfig",
    "WifiConfig",
    "hash_pin",
    "verify_pin",
]
