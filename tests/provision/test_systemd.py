"""systemd units: installed by install.sh into a root, clean under `systemd-analyze verify`, hardened, consistent
with the code; the venue broker drop-in; the UI session (cage) really gives Kivy a window."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_config.identity import DEVICE_FILE, IDENTITY_DIR

REPO = Path(__file__).resolve().parents[2]
UNITS = ("kiosk-firstboot.service", "kiosk-sync.service", "kiosk-ui.service")
DEBIAN_MOSQUITTO_UNIT = Path("/lib/systemd/system/mosquitto.service")
BIN = Path(shutil.which("kiosk-provision") or REPO / ".venv/bin/kiosk-provision").parent

needs_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("root")
    done = subprocess.run(
        ["bash", str(REPO / "systemd/install.sh"), "--root", str(root), "--bin", str(BIN), "--with-broker"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root


def unit_text(root: Path, name: str) -> str:
    return (root / "etc/systemd/system" / name).read_text()


def test_install_places_and_enables_every_unit(installed: Path) -> None:
    system = installed / "etc/systemd/system"
    for unit in UNITS:
        assert "@KIOSK_BIN@" not in unit_text(installed, unit)
    assert (system / "multi-user.target.wants/kiosk-sync.service").is_symlink()
    assert (system / "multi-user.target.wants/kiosk-firstboot.service").is_symlink()
    assert (system / "graphical.target.wants/kiosk-ui.service").is_symlink()
    assert (installed / "etc/sysusers.d/kiosk.conf").read_text().startswith("#")
    assert f"ExecStart={BIN}/kiosk-sync " in unit_text(installed, "kiosk-sync.service")


def test_install_refuses_a_bin_dir_without_the_programs(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(REPO / "systemd/install.sh"), "--root", str(tmp_path / "r"), "--bin", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "kiosk is missing" in done.stderr
    assert not (tmp_path / "r").exists()


@needs_analyze
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_is_clean(installed: Path, unit: str) -> None:
    if unit == "kiosk-ui.service" and not Path("/usr/bin/cage").exists():
        pytest.fail("/usr/bin/cage is missing: scripts/setup.sh installs the cage package")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(installed / "etc/systemd/system" / unit)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr


@needs_analyze
def test_verify_does_catch_a_broken_unit(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and a missing binary show up on stderr."""
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nType=notify\nWatchdogSecs=3\nExecStart=/nonexistent/kiosk-sync\n")
    done = subprocess.run(["systemd-analyze", "verify", str(bad)], capture_output=True, text=True, check=False)
    assert "Unknown key" in done.stderr and "not executable" in done.stderr


@needs_analyze
def test_sync_agent_is_hardened(installed: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(installed / "etc/systemd/system/kiosk-sync.service")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for kiosk-sync.service: ([0-9.]+)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) <= 2.0


def test_sync_agent_unit_settings(installed: Path) -> None:
    text = unit_text(installed, "kiosk-sync.service")
    for line in (
        "Type=notify", "Restart=always", "PrivateDevices=yes", "DevicePolicy=closed", "ProtectSystem=strict",
        "StateDirectory=kiosk", "NoNewPrivileges=yes", "LoadCredential=kiosk-secrets:/etc/kiosk/secrets.toml",
    ):  # fmt: skip
        assert f"\n{line}\n" in text, line
    assert re.search(r"\nWatchdogSec=\d+\n", text)
    assert "ReadWritePaths" not in text  # writes nothing outside StateDirectory


def test_firstboot_condition_matches_where_the_identity_is_written(installed: Path) -> None:
    text = unit_text(installed, "kiosk-firstboot.service")
    assert f"ConditionPathExists=!/var/lib/kiosk/{IDENTITY_DIR}/{DEVICE_FILE}\n" in text
    assert "Type=oneshot" in text and "--state-dir /var/lib/kiosk" in text


def test_broker_files_are_the_sync_protocols_own(installed: Path) -> None:
    shipped = REPO / "sync_agent/broker"
    assert (installed / "etc/mosquitto/conf.d/kiosk.conf").read_text() == (shipped / "mosquitto.conf").read_text()
    assert (installed / "etc/mosquitto/kiosk/bridge.conf.example").read_text() == (shipped / "bridge.conf").read_text()
    assert (installed / "etc/mosquitto/kiosk/bridge.d").is_dir()
    drop_in = installed / "etc/systemd/system/mosquitto.service.d/kiosk.conf"
    assert "\nRestart=always\n" in drop_in.read_text()


@needs_analyze
def test_broker_drop_in_verifies_on_debians_mosquitto_unit(installed: Path, tmp_path: Path) -> None:
    if not DEBIAN_MOSQUITTO_UNIT.exists():
        pytest.fail("mosquitto.service is missing: scripts/setup.sh installs the mosquitto package")
    units = tmp_path / "units"
    shutil.copytree(installed / "etc/systemd/system/mosquitto.service.d", units / "mosquitto.service.d")
    shutil.copy(DEBIAN_MOSQUITTO_UNIT, units / "mosquitto.service")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(units / "mosquitto.service")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    # the drop-in is really read: a bad key in it shows up
    (units / "mosquitto.service.d/zz-bad.conf").write_text("[Service]\nRestartt=always\n")
    bad = subprocess.run(
        ["systemd-analyze", "verify", str(units / "mosquitto.service")], capture_output=True, text=True, check=False
    )
    assert "zz-bad.conf" in bad.stderr


KIVY_PROBE = """
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label

class Probe(App):
    def build(self):
        Clock.schedule_once(lambda _dt: (print("WINDOW", *Window.size, flush=True), self.stop()), 0.5)
        return Label(text="kiosk")

Probe().run()
"""


@pytest.mark.ui
def test_ui_session_gives_kivy_a_window_inside_cage(tmp_path: Path) -> None:
    """The kiosk-ui unit's ExecStart shape: cage -d -s -- python (Kivy), with cage's headless backend for CI."""
    cage, xwayland = shutil.which("cage"), shutil.which("Xwayland")
    if cage is None or xwayland is None:
        pytest.fail("cage and Xwayland are needed by kiosk-ui.service: scripts/setup.sh installs them")
    text = (REPO / "systemd/kiosk-ui.service").read_text()
    env_line = next(line for line in text.splitlines() if line.startswith("Environment="))
    unit_env = dict(item.split("=", 1) for item in env_line.removeprefix("Environment=").split())
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    script = tmp_path / "probe.py"
    script.write_text(KIVY_PROBE)
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime),
        "KIVY_HOME": str(tmp_path / "kivy"), "WLR_BACKENDS": "headless", "WLR_LIBINPUT_NO_DEVICES": "1",
        "WLR_RENDERER": "pixman", **unit_env,
    }  # fmt: skip
    command = [cage, "-d", "-s", "--", sys.executable, str(script)]
    if os.geteuid() == 0:  # cage refuses to run as root, as the unit never does (User=kiosk)
        command = ["unshare", "--user", "--map-user=1000", "--map-group=1000", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert "WINDOW" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    width, height = (int(x) for x in done.stdout.split("WINDOW", 1)[1].split()[:2])
    assert width > 0 and height > 0
