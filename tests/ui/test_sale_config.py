"""`sales.attended` in the device config: unattended by default, refused on a door-only kiosk, passed to the app."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from firmware_config.schema import CONFIG_VERSION, KioskConfig


def make(**sections: Any) -> KioskConfig:
    raw: dict[str, Any] = {"version": CONFIG_VERSION, "device": {"venue": "v1", "gate": "main", "role": "sales"}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return KioskConfig.model_validate(raw)


def test_a_kiosk_is_unattended_unless_configured() -> None:
    assert make().sales.attended is False
    assert make(sales={"attended": True}).sales.attended is True


def test_attended_must_be_a_real_boolean() -> None:
    with pytest.raises(ValidationError, match=r"sales\.attended"):
        make(sales={"attended": "yes"})


def test_an_attended_door_kiosk_is_refused() -> None:
    with pytest.raises(ValidationError, match="a door kiosk sells nothing"):
        make(device={"role": "door"}, sales={"attended": True})
