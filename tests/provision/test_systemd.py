"""systemd units: installed by install.sh into a root, clean under `systemd-analyze verify`, hardened, consistent
with the code; the venue broker drop-in; the UI session (cage) really gives Kivy a window."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware_config.identity import DEVICE_FILE, IDENTITY_DIR
from kiosk.ui.launch import SessionError, check_session
from tests.fixtures.unprivileged import as_user_prefix, give_to_user

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


def test_ui_unit_is_watched_by_systemd(installed: Path) -> None:
    """The app notifies from its main loop (kiosk/ui/watchdog.py); cage is the main pid, the app its child."""
    text = unit_text(installed, "kiosk-ui.service")
    for line in ("Type=notify", "NotifyAccess=all", "Restart=always", "User=kiosk"):
        assert f"\n{line}\n" in text, line
    found = re.search(r"\nWatchdogSec=(\d+)\n", text)
    assert found and 5 <= int(found.group(1)) <= 60


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


# The unit's ExecStart shape: the session's launcher (kiosk.ui.launch) prepares Kivy, then the app opens its window.
KIVY_PROBE = """
from kiosk.ui.launch import prepare_kivy
prepare_kivy()
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


@dataclass
class SessionUser:
    """How the test runs the session: as a named, unprivileged user, as the unit's User=kiosk (cage refuses root).

    As root that is `nobody` through tests/fixtures/unprivileged.py (a named uid, which is what Xwayland needs).
    """

    prefix: tuple[str, ...] = ()
    give_folders: bool = False  # chown the session's folders to that user

    @classmethod
    def pick(cls) -> SessionUser:
        prefix = as_user_prefix()
        return cls(prefix=prefix, give_folders=bool(prefix))


def userns(uid: int, gid: int) -> tuple[str, ...]:
    return ("unshare", "--user", f"--map-user={uid}", f"--map-group={gid}")


@pytest.fixture
def session_dir() -> Iterator[Path]:
    """A fresh folder for the session's runtime dir and files (pytest's tmp dir is under a 0700 root folder)."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-cage-"))
    (folder / "run").mkdir(mode=0o700)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_in_cage(folder: Path, user: SessionUser) -> subprocess.CompletedProcess[str]:
    cage, xwayland = shutil.which("cage"), shutil.which("Xwayland")
    if cage is None or xwayland is None:
        pytest.fail("cage and Xwayland are needed by kiosk-ui.service: scripts/setup.sh installs them")
    text = (REPO / "systemd/kiosk-ui.service").read_text()
    env_line = next(line for line in text.splitlines() if line.startswith("Environment="))
    unit_env = dict(item.split("=", 1) for item in env_line.removeprefix("Environment=").split())
    script = folder / "probe.py"
    script.write_text(KIVY_PROBE)
    script.chmod(0o644)
    if user.give_folders:
        give_to_user(folder, folder / "run")
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(folder), "XDG_RUNTIME_DIR": str(folder / "run"),
        "KIVY_HOME": str(folder / "kivy"), "PYTHONPATH": str(REPO), "WLR_BACKENDS": "headless",
        "WLR_LIBINPUT_NO_DEVICES": "1", "WLR_RENDERER": "pixman", **unit_env,
    }  # fmt: skip
    command = [*user.prefix, cage, "-d", "-s", "--", sys.executable, str(script)]
    return subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, timeout=90, check=False)


@pytest.mark.ui
def test_ui_session_gives_kivy_a_window_inside_cage(session_dir: Path) -> None:
    """cage -d -s -- python (Kivy) as a named unprivileged user, with cage's headless backend for CI."""
    done = run_in_cage(session_dir, SessionUser.pick())
    assert "WINDOW" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]
    width, height = (int(x) for x in done.stdout.split("WINDOW", 1)[1].split()[:2])
    assert width > 0 and height > 0


def _unnamed_uid() -> int:
    return next(uid for uid in range(40000, 60000) if uid not in {p.pw_uid for p in pwd.getpwall()})


@pytest.mark.ui
def test_ui_session_as_a_uid_without_a_name_says_why_it_gets_no_window(session_dir: Path) -> None:
    """Xwayland admits only its own user by name: the launcher says so instead of SDL's "x11 not available"."""
    uid = _unnamed_uid()
    if os.geteuid() != 0:
        pytest.skip("needs root to map an unnamed uid")
    probe = subprocess.run([*userns(uid, uid), "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:  # a chroot, or user namespaces disabled
        pytest.skip(f"cannot make a user namespace here: {probe.stderr.strip()}")
    done = run_in_cage(session_dir, SessionUser(prefix=userns(uid, uid)))
    assert "WINDOW" not in done.stdout
    assert f"uid {uid} has no user name" in done.stderr, done.stderr[-3000:]


def test_session_check_refuses_only_an_unnamed_uid_under_xwayland() -> None:
    cage_env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    with pytest.raises(SessionError) as caught:
        check_session(cage_env, uid=_unnamed_uid())
    assert caught.value.reason == "ui_session"
    check_session(cage_env, uid=pwd.getpwnam("nobody").pw_uid)  # named: fine
    check_session({"DISPLAY": ":0"}, uid=_unnamed_uid())  # plain X (Xvfb, a desktop): not Xwayland's rule
