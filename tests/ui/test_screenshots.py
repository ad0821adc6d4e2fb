"""Screenshots show finished screens only (one step, no leftovers of the previous one), and errors reach stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest

from tests.ui.conftest import ROOT

pytestmark = pytest.mark.ui


def run_probe(kivy_env: dict[str, str], mode: str, out: Path) -> tuple[dict[str, Any], Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ui.capture_probe", mode, str(out)],
        cwd=ROOT,
        env=kivy_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads((out / "result.json").read_text())
    assert not result["script_error"], result["script_error"]
    picture = cv2.imread(str(out / "two.png"))
    assert picture is not None, "no picture captured"
    return result, picture


def colour_share(picture: Any) -> tuple[float, float]:
    """Shares of the picture that are the red screen (not current) and the blue one (current); BGR order."""
    b, g, r = cv2.split(picture.astype(int))
    pixels = picture.shape[0] * picture.shape[1]
    red = ((r > 200) & (g < 60) & (b < 60)).sum() / pixels
    blue = ((b > 200) & (g < 60) & (r < 60)).sum() / pixels
    return float(red), float(blue)


@pytest.mark.parametrize("mode", ["slide", "slow"])
def test_the_capture_waits_for_the_finished_screen(kivy_env: dict[str, str], tmp_path: Path, mode: str) -> None:
    """slide: a 1.5 s transition is still under way after any fixed short wait; slow: every frame takes 0.5 s, as
    on a loaded machine, so a picture read outside the drawing of a frame is an older frame with both screens."""
    result, picture = run_probe(kivy_env, mode, tmp_path)
    assert result["mid"] and "'one'" in result["mid"][0]  # the check sees the leaving screen: it can fail
    assert result["captured"] == []
    red, blue = colour_share(picture)
    assert red == 0.0, f"{red:.1%} of the picture is the screen that is not current"
    assert blue > 0.45  # screen two paints the right half


def test_a_failing_screenshots_command_says_why_on_stderr(kivy_env: dict[str, str], tmp_path: Path) -> None:
    """Kivy used to swallow sys.stderr: the command failed with an empty message. Here a directory stands where
    the first picture must go, so the run stops after Kivy started; the reason must reach the real stderr."""
    out = tmp_path / "shots"
    (out / "fr-door.png").mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "screenshots", "--lang", "fr", "--out", str(out)],
        cwd=ROOT,
        env=kivy_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "kiosk: screenshots stopped" in proc.stderr
    assert "fr-door.png" in proc.stderr and "IsADirectoryError" in proc.stderr


def test_a_python_error_after_kivy_started_reaches_stderr(kivy_env: dict[str, str]) -> None:
    """Any uncaught error once Kivy is imported (and its window made) is printed, not logged away."""
    code = (
        "from kiosk.ui.launch import prepare_kivy\n"
        "prepare_kivy()\n"
        "from kivy.core.window import Window\n"
        "import logging\n"
        "logging.getLogger('kiosk.probe').error('logged: the store is locked')\n"
        "raise RuntimeError('uncaught: the printer is on fire')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=kivy_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert "RuntimeError: uncaught: the printer is on fire" in proc.stderr
    assert "logged: the store is locked" in proc.stderr
