"""Pure rendering of the config and secrets files from answers: no I/O, same input → same bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tomli_w
from pydantic import BaseModel, SecretStr

from firmware_config.pins import hash_pin
from firmware_config.schema import KioskConfig
from kiosk.domain.languages import DEFAULT_LANGUAGE, LANGUAGES

CONFIG_FILENAME = "kiosk.toml"
SECRETS_FILENAME = "secrets.toml"


@dataclass(frozen=True)
class Answers:
    """What the technician answered (or passed as flags). Only venue and gate have no default."""

    venue: str
    gate: str
    role: str = "door"
    device_id: str | None = None
    printer_host: str = "192.168.1.50"
    printer_port: int = 9100
    printer_format: str = "show"
    printer_dpi: int = 203
    printer_transport: str = "tcp"
    cups_queue: str | None = None
    camera: int | str = 0
    broker_url: str = "mqtt://127.0.0.1:1883"
    broker_username: str | None = None
    broker_password: str | None = None
    default_language: str = DEFAULT_LANGUAGE
    languages: tuple[str, ...] = LANGUAGES
    pin_hash: str | None = None
    database: str = "/var/lib/kiosk/kiosk.sqlite"
    state_dir: str = "/var/lib/kiosk"
    fullscreen: bool = True
    idle_timeout_s: int = 90
    wifi_ssid: str | None = None
    wifi_psk: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def with_pin(answers: Answers, pin: str, *, salt: bytes | None = None) -> Answers:
    """Answers with the PIN replaced by its hash (the PIN itself is never kept)."""
    from dataclasses import replace

    return replace(answers, pin_hash=hash_pin(pin, salt=salt))


def build_config(answers: Answers) -> KioskConfig:
    """Validate answers into a KioskConfig (raises pydantic.ValidationError on bad answers)."""
    raw: dict[str, Any] = {
        "version": 2,
        "device": {"venue": answers.venue, "gate": answers.gate, "role": answers.role},
        "printer": {
            "host": answers.printer_host,
            "port": answers.printer_port,
            "format": answers.printer_format,
            "dpi": answers.printer_dpi,
            "transport": answers.printer_transport,
        },
        "camera": {"device": answers.camera},
        "broker": {"url": answers.broker_url},
        "languages": {"default": answers.default_language, "offered": list(answers.languages)},
        "technician": {},
        "paths": {"database": answers.database, "state_dir": answers.state_dir},
        "ui": {"fullscreen": answers.fullscreen, "idle_timeout_s": answers.idle_timeout_s},
    }
    if answers.device_id:
        raw["device"]["id"] = answers.device_id
    if answers.cups_queue:
        raw["printer"]["cups_queue"] = answers.cups_queue
    if answers.broker_username:
        raw["broker"]["username"] = answers.broker_username
    if answers.broker_password:
        raw["broker"]["password"] = answers.broker_password
    if answers.pin_hash:
        raw["technician"]["pin_hash"] = answers.pin_hash
    if answers.wifi_ssid or answers.wifi_psk:
        raw["wifi"] = {"ssid": answers.wifi_ssid or "Infomaniak"}
        if answers.wifi_psk:
            raw["wifi"]["psk"] = answers.wifi_psk
    for section, values in answers.extra.items():
        raw.setdefault(section, {}).update(values)
    return KioskConfig.model_validate(raw)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _section_values(section: BaseModel) -> dict[str, Any]:
    dumped = section.model_dump(mode="json", exclude_none=True)
    return {k: _plain(v) for k, v in dumped.items() if not isinstance(getattr(section, k), SecretStr)}


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in text.splitlines())


def render_config(config: KioskConfig) -> str:
    """The config file text: every section and key with its description as a comment, no secrets."""
    out = [
        _comment("Venue kiosk device configuration (kiosk-provision validate FILE checks it)."),
        _comment("Secrets (broker password, Wi-Fi passphrase) live in secrets.toml, mode 0600."),
        tomli_w.dumps({"version": config.version}),
    ]
    for name, info in type(config).model_fields.items():
        if name == "version":
            continue
        section = getattr(config, name)
        if section is None:
            continue
        out.append("\n" + _comment(f"{info.title}: {info.description}"))
        out.append(f"[{name}]\n")
        values = _section_values(section)
        for key, field_info in type(section).model_fields.items():
            if key in values:
                out.append(_comment(f"{field_info.title}: {field_info.description}"))
                out.append(tomli_w.dumps({key: values[key]}))
    return "".join(out)


def render_secrets(config: KioskConfig) -> str | None:
    """The secrets file text, or None when the config holds no secret."""
    tables: dict[str, dict[str, str]] = {}
    if config.broker.password is not None:
        tables["broker"] = {"password": config.broker.password.get_secret_value()}
    if config.wifi is not None and config.wifi.psk is not None:
        tables["wifi"] = {"psk": config.wifi.psk.get_secret_value()}
    if not tables:
        return None
    return _comment("Device secrets: keep mode 0600 (kiosk-provision refuses a file others can read).") + (
        tomli_w.dumps(tables)
    )


def render_files(config: KioskConfig) -> dict[str, tuple[str, int]]:
    """File name → (text, mode) for the wizard's output directory.

    The secrets file is written even with no secret in it: the units load it with `LoadCredential=`, which fails
    the service when the file is missing, and `kiosk-provision secret` later adds to it.
    """
    secrets = render_secrets(config)
    empty = _comment("Device secrets (none yet): kiosk-provision secret broker.password | wifi.psk adds them.")
    return {CONFIG_FILENAME: (render_config(config), 0o644), SECRETS_FILENAME: (secrets or empty, 0o600)}
