"""Issue 12 point 5 in the real window: a refusal holds the door screen, the next scan waits; the scan history."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.ui import theme
from tests.ui.door_run import run_door

pytestmark = pytest.mark.ui


def spaced(text: str) -> str:
    """French puts a (narrow) no-break space before ':'; compare the words, whichever space is used."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_a_refusal_is_not_wiped_by_the_next_scan(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_door(kivy_env, "sticky", tmp_path)
    hold = seen["hold_s"]
    assert seen["first"]["kind"] == "ok"
    # the next guest's valid ticket arrived while "already used" was up: the refusal stays, the green waits
    held = seen["while_held"]
    assert held["kind"] == "warn" and held["title"] == "Déjà utilisé"
    assert held["waiting"] in held["texts"] and spaced(held["waiting"]) == "En attente : 1 · touchez pour la suivante"
    assert seen["held_for"] < hold
    after = seen["after_hold"]
    assert after["kind"] == "ok" and after["title"] == "Bienvenue" and not after["waiting"]
    assert after["after"] >= hold  # not before the minimum time
    # a tap is staff's dismissal: the refusal goes at once and the waiting verdict follows
    assert seen["stop"]["kind"] == "stop" and seen["stop_held"] == "stop"
    assert seen["after_tap"]["kind"] == "ok" and seen["after_tap"]["visible"] and seen["after_tap"]["after"] < hold
    # the last scans, newest first, with time and verdict, on the door screen
    history = seen["history"]
    assert len(history) == 5 and seen["history_rows"] == 5
    assert [line.split(" · ")[1] for line in history] == [
        "Bienvenue",
        "Billet inconnu",
        "Bienvenue",
        "Déjà utilisé",
        "Bienvenue",
    ]
    assert all(line[:2].isdigit() and line[2] == ":" for line in history)  # HH:MM first
    assert set(history) <= set(seen["door_texts"]) and "Derniers scans" in seen["door_texts"]


def test_verdict_texts_as_drawn_reach_4_5_to_1_and_say_when_and_where(kivy_env: dict[str, str], tmp_path: Path) -> None:
    """Point 8 in the window: the colours read back from the widgets, the already-used words staff act on."""
    seen = run_door(kivy_env, "sticky", tmp_path)
    for name in ("first", "while_held", "stop"):
        view = seen[name]
        background = tuple(view["background"])
        assert view["text_colours"], name
        for label, colour in view["text_colours"].items():
            ratio = theme.contrast(tuple(colour), background)  # type: ignore[arg-type]
            assert ratio >= theme.MIN_CONTRAST, (name, label, colour, background, ratio)
    detail = spaced(seen["while_held"]["detail"])
    assert detail.startswith("Première utilisation il y a ") and detail.endswith(", à cette porte.")
    assert "demo-kiosk" not in detail and "main" not in detail  # no raw device or gate id
    assert seen["door_label"] == "Entrée principale"  # the door's name from the catalog, not "main"
