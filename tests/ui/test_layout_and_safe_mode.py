"""Every screen and state in every language fits (`kiosk screenshots`), and a broken config starts safe mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.ui.conftest import ROOT

pytestmark = pytest.mark.ui
LANGS = ("fr", "de", "it", "en")


def test_screenshots_of_every_state_in_every_language_and_no_text_overflows(kivy_env, tmp_path: Path) -> None:
    out = tmp_path / "shots"
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "screenshots", "--out", str(out)],
        cwd=ROOT,
        env=kivy_env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]  # the command fails and lists every text that does not fit
    names = {p.name for p in out.glob("*.png")}
    per_lang = {lang: {n.split("-", 1)[1] for n in names if n.startswith(lang + "-")} for lang in LANGS}
    assert per_lang["fr"] == per_lang["de"] == per_lang["it"] == per_lang["en"]
    states = per_lang["fr"]
    for state in (
        "door.png",
        "door-keypad.png",
        "verdict-valid.png",
        "verdict-valid_reduced.png",
        "verdict-already_used.png",
        "verdict-exit_recorded.png",
        "verdict-unknown.png",
        "verdict-invalid_signature.png",
        "verdict-wrong_performance.png",
        "verdict-expired.png",
        "verdict-cancelled.png",
        "verdict-revoked.png",
        "verdict-not_on_this_list.png",
        "sale-1-performance.png",
        "sale-2-tickets.png",
        "sale-3-payment.png",
        "sale-4-cash.png",
        "sale-5-card.png",
        "sale-6-printing-paper-out.png",
        "sale-7-done.png",
        "technician-pin.png",
        "technician.png",
        "technician-safe-mode.png",
    ):
        assert state in states
    assert all((out / n).stat().st_size > 5000 for n in names)  # real pictures, not empty files


def test_the_overflow_check_catches_a_text_that_cannot_fit(kivy_env, tmp_path: Path) -> None:
    """The check the screenshots rely on must be able to fail: a long word in a small box overflows."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ui.overflow_probe"],
        cwd=ROOT,
        env=kivy_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "OVERFLOWS 1 'Donaudampfschifffahrtsgesellschaft'" in proc.stdout, proc.stderr[-2000:]


BROKEN = """\
version = 2

[device]
id = "door-7"
venue = "theatre-du-lac"
gate = "main"
role = "doors"

[printer]
port = 91000
"""


def run_until_ready(kivy_env: dict[str, str], config: Path, ready: Path) -> dict:
    """`kiosk run --config FILE`; what the app shows once ready (it must still be running then)."""
    env = {**kivy_env, "KIOSK_READY_FILE": str(ready)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(config), "--windowed"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)  # polling for the file, with a deadline
        assert proc.poll() is None, "the app must keep running, not exit: " + proc.stderr.read()[-3000:]
        seen = json.loads(ready.read_text())  # written once the screen settled (and rewritten every status poll)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return seen


def test_a_broken_config_starts_the_technician_screen_in_safe_mode(kivy_env, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(BROKEN)
    seen = run_until_ready(kivy_env, config, tmp_path / "ready.json")
    assert seen["screen"] == "technician"
    texts = "\n".join(seen["texts"])
    assert "Mode sans échec : la configuration a des problèmes" in texts
    assert f"{config}:7: device.role" in texts  # file, line, key and the problem in words
    assert f"{config}:10: printer.port" in texts
    assert "Saisissez le PIN" not in texts  # no PIN prompt: the PIN hash is in the broken file


DOOR = """\
version = 2

[device]
id = "door-7"
venue = "theatre-du-lac"
gate = "main"
role = "door"

[camera]
device = "/dev/video-that-is-not-plugged-in"

[paths]
database = "kiosk.sqlite"
state_dir = "state"

[languages]
default = "de"
"""


def test_a_door_config_starts_on_the_door_screen_even_without_its_camera(kivy_env, tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(DOOR)
    seen = run_until_ready(kivy_env, config, tmp_path / "ready.json")
    assert seen["screen"] == "door"
    assert "Code eintippen" in seen["texts"]  # the configured default language; typing codes still works
    assert "Verkauf" not in seen["texts"]  # a door device shows no sales button
