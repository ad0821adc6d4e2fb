"""Issue 12 points 6, 7 and 10 in the real window: the camera's state, exit mode, the PIN lockout's countdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.ui import theme
from tests.ui.door_run import run_door

pytestmark = pytest.mark.ui


def test_a_starting_then_dead_camera_says_so_on_the_door_screen(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_door(kivy_env, "camera", tmp_path)
    assert seen["starting"] == "Démarrage de la caméra…" and seen["starting"] in seen["starting_texts"]
    assert seen["failed"].startswith("La caméra ne fonctionne pas") and "technicien" in seen["failed"]
    assert seen["failed"] in seen["failed_texts"]
    assert seen["failed_de"].startswith("Die Kamera funktioniert nicht")  # the staff's language, switched


def test_exit_mode_is_a_full_width_banner_on_a_tinted_screen(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_door(kivy_env, "exit", tmp_path)
    assert seen["entry_banner"] == [0, ""]
    height, width, text = seen["exit_banner"]
    assert height >= 60 and width >= seen["window_width"] - 20  # the whole width, inside the screen's padding
    assert text.startswith("MODE SORTIE") and text in seen["exit_texts"]
    bg, ink = (tuple(c) for c in seen["exit_colours"])
    assert theme.contrast(ink, bg) >= theme.MIN_CONTRAST  # type: ignore[arg-type]
    assert seen["entry_again"] == [0, ""]


def test_the_pin_lockout_counts_down_and_ignores_touches_visibly(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_door(kivy_env, "pin", tmp_path)
    left, text, keys_off, ok_off, colour = seen["locked"]
    assert left == 3 and keys_off and ok_off
    assert "3\u00a0s" in text  # the number and its unit never on two lines
    text = text.replace("\u202f", " ").replace("\u00a0", " ")
    assert text.startswith("Trop de PIN erronés")
    assert text.endswith("3 s") and tuple(colour) == theme.AMBER
    assert seen["key_alpha"] < 1  # greyed
    assert seen["while_locked"] == ["", False]  # touches on the keys and on Unlock did nothing
    assert seen["later"].endswith(("2\u00a0s", "1\u00a0s"))
    after_text, after_off = seen["after"]
    assert not after_off and "Trop de PIN" not in after_text
    assert seen["unlocked"]
