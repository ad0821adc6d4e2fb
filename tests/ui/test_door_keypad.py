"""Issue 12 point 9: the keypad types every character a list code may contain, a typo keeps the typed text, and
a USB wedge scan while the keypad is open is scanned."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.domain.ticket_rows import TYPEABLE_CODE_CHARS, RowError, parse_ticket_row
from tests.ui.door_run import run_door


@pytest.mark.parametrize("code", ["abc-1", "AB C1", "CAFÉ-1", "A+B", "A/B", "Ü1234"])
def test_the_importer_refuses_codes_the_keypad_cannot_type(code: str) -> None:
    with pytest.raises(RowError, match="keypad"):
        parse_ticket_row({"code": code, "event_id": 1, "tariff_id": 1})


def test_the_importer_accepts_every_typeable_character() -> None:
    record = parse_ticket_row({"code": TYPEABLE_CODE_CHARS, "event_id": 1, "tariff_id": 1})
    assert record.code == TYPEABLE_CODE_CHARS


@pytest.mark.ui
def test_keypad_typo_correction_and_a_wedge_scan_with_the_keypad_open(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_door(kivy_env, "keypad", tmp_path)
    assert sorted(seen["keys"]) == sorted(TYPEABLE_CODE_CHARS)  # I, O, Y, Z and . _ were missing
    assert seen["typo"]["kind"] == "stop" and seen["typo"]["title"] == "Billet inconnu"
    keypad_open, value, shown, typo = seen["after_typo"]
    assert keypad_open and value == typo and shown == typo  # still there, to correct one key
    assert seen["corrected"] == ["Bienvenue", False]  # admitted, and the keypad closed
    kind, still_open, still_typed = seen["wedge"]
    assert kind == "ok" and still_open and still_typed == "AB"  # scanned, and what staff typed is kept
