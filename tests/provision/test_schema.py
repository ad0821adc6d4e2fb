"""The config schema: defaults, roles, unknown keys, wrong types, every field documented, PIN hashing."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from firmware_config.pins import hash_pin, verify_pin
from firmware_config.schema import CONFIG_VERSION, KioskConfig, Role


def make(**sections: Any) -> KioskConfig:
    raw: dict[str, Any] = {"version": CONFIG_VERSION, "device": {"venue": "v1", "gate": "main"}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return KioskConfig.model_validate(raw)


def test_defaults_make_a_working_door_device() -> None:
    config = make()
    assert config.device.role is Role.DOOR
    assert not config.can_sell and config.device.can_scan
    assert (config.printer.port, config.printer.dpi, config.printer.format) == (9100, 203, "show")
    assert (config.broker.host, config.broker.port, config.broker.tls) == ("127.0.0.1", 1883, False)
    assert config.languages.default == "fr" and config.languages.offered == ("fr", "de", "it", "en")


@pytest.mark.parametrize(
    ("role", "sells", "scans"), [("door", False, True), ("sales", True, False), ("both", True, True)]
)
def test_only_sales_roles_can_sell(role: str, sells: bool, scans: bool) -> None:
    device = make(device={"role": role}).device
    assert (device.can_sell, device.can_scan) == (sells, scans)


def test_device_id_before_and_after_first_boot() -> None:
    with pytest.raises(LookupError, match="firstboot"):
        _ = make().device_id
    assert make(device={"id": "kiosk-abc"}).device_id == "kiosk-abc"


def test_a_device_cannot_take_the_central_accounts_name() -> None:
    """The venue broker gives the account `central` central's role: a device so named would read every tx."""
    with pytest.raises(ValidationError, match="central service's broker account"):
        make(device={"id": "central"})


@pytest.mark.parametrize(
    ("sections", "where"),
    [
        ({"device": {"colour": "red"}}, ("device", "colour")),
        ({"printer": {"adress": "1.2.3.4"}}, ("printer", "adress")),
        ({"extra_section": {"a": 1}}, ("extra_section",)),
    ],
)
def test_unknown_keys_are_rejected(sections: dict[str, Any], where: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        make(**sections)
    assert [tuple(e["loc"]) for e in info.value.errors()] == [where]
    assert info.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    "sections",
    [
        {"printer": {"port": "9100"}},  # a string is not a port, even if it looks like one
        {"printer": {"port": 70000}},
        {"printer": {"dpi": 250}},
        {"printer": {"format": "a4"}},
        {"printer": {"transport": "cups"}},  # needs a queue
        {"ui": {"fullscreen": "yes"}},
        {"ui": {"idle_timeout_s": 2}},
        {"camera": {"device": "video0"}},
        {"camera": {"device": -1}},
        {"device": {"role": "seller"}},
        {"device": {"venue": "Théâtre/Passage"}},  # would break MQTT topics
        {"device": {"id": "a+b"}},
        {"broker": {"url": "http://broker:1883"}},
        {"broker": {"url": "mqtt://"}},
        {"broker": {"url": "mqtt://user:pw@host"}},  # credentials never in the URL
        {"broker": {"url": "mqtt://host:99999"}},
        {"broker": {"client_cert": "/etc/kiosk/c.pem"}},  # without its key
        {"broker": {"ca_file": "/etc/kiosk/ca.pem"}},  # CA on a plain-text URL
        {"languages": {"default": "es"}},
        {"languages": {"default": "it", "offered": ["fr", "de"]}},
        {"languages": {"offered": ["fr", "fr"]}},
        {"languages": {"offered": []}},
        {"technician": {"pin_hash": "1234"}},  # a PIN in clear is not a hash
        {"wifi": {"psk": "short"}},
        {"wifi": {"country": "ch"}},
    ],
)
def test_wrong_values_are_rejected(sections: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make(**sections)


def test_tls_broker_and_cups_printer_accepted() -> None:
    config = make(
        broker={
            "url": "mqtts://broker.venue.ch",
            "ca_file": "/etc/kiosk/ca.pem",
            "client_cert": "c",
            "client_key": "k",
        },
        printer={"transport": "cups", "cups_queue": "zebra-foyer"},
    )
    assert (config.broker.port, config.broker.tls) == (8883, True)
    assert config.printer.cups_queue == "zebra-foyer"


def test_version_must_be_current_after_migration() -> None:
    with pytest.raises(ValidationError, match="version"):
        KioskConfig.model_validate({"version": 1, "device": {"venue": "v", "gate": "g"}})


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo]]:
    out = []
    for name, info in model.model_fields.items():
        out.append((prefix + name, info))
        for arg in (info.annotation, *get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += _fields(arg, f"{prefix}{name}.")
    return out


def test_every_field_has_a_title_and_description() -> None:
    fields = _fields(KioskConfig)
    assert len(fields) > 35
    assert [name for name, info in fields if not info.title or not info.description] == []
    # and the published JSON schema (for editors and central's provisioning UI) carries the descriptions
    schema = KioskConfig.model_json_schema()
    assert schema["$defs"]["PrinterConfig"]["properties"]["dpi"]["title"] == "Print resolution"


def test_pin_hash_verifies_only_the_right_pin() -> None:
    stored = hash_pin("482913")
    assert "482913" not in stored
    assert verify_pin("482913", stored)
    assert not verify_pin("482914", stored)
    assert not verify_pin("482913", None)
    assert not verify_pin("482913", "scrypt$1$1$1$garbage")
    assert hash_pin("1234") != hash_pin("1234")  # salted
    assert make(technician={"pin_hash": stored}).technician.pin_hash == stored


@pytest.mark.parametrize("pin", ["123", "12a4", "", "1234567890123"])
def test_bad_pins_are_refused(pin: str) -> None:
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin(pin)
