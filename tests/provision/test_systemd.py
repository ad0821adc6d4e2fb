"""systemd units: installed by install.sh into a root, clean under `systemd-analyze verify`, hardened, consistent
with the code; the venue broker config enforces per-device topics on a real mosquitto."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_config.identity import DEVICE_FILE, IDENTITY_DIR
from tests.fixtures.broker import free_port, mosquitto_binary

REPO = Path(__file__).resolve().parents[2]
UNITS = ("kiosk-firstboot.service", "kiosk-sync.service", "kiosk-ui.service", "kiosk-broker.service")
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
    assert (installed / "etc/kiosk/broker/mosquitto.conf").exists()
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


@pytest.mark.broker
def test_venue_broker_config_lets_a_device_publish_only_as_itself(tmp_path: Path) -> None:
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto not installed")
    port = free_port()
    passwd = tmp_path / "passwd"
    for user in ("kiosk-a", "central"):
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if user == "kiosk-a" else []), str(passwd), user, "pw"],
                       check=True)  # fmt: skip
    passwd.chmod(0o600)
    conf = (REPO / "systemd/kiosk-broker.conf").read_text()
    conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
    conf = conf.replace("/etc/kiosk/broker/passwd", str(passwd)).replace(
        "/etc/kiosk/broker/acl", str(REPO / "systemd/kiosk-broker.acl")
    )
    conf = conf.replace("/var/lib/kiosk-broker/", f"{tmp_path}/").replace(
        "/etc/kiosk/broker/conf.d", str(tmp_path / "conf.d")
    )
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "mosquitto.conf").write_text(conf + "user root\n")
    proc = subprocess.Popen([binary, "-c", str(tmp_path / "mosquitto.conf")], stderr=subprocess.PIPE)
    try:
        received: list[str] = []
        got = threading.Event()
        central = _client("central", port)

        def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
            received.append(msg.topic)
            got.set()

        central.on_message = on_message
        central.subscribe("kiosk/v1/#", qos=1)
        device = _client("kiosk-a", port)
        device.publish("kiosk/v1/v/kiosk-b/tx", b"forged", qos=1).wait_for_publish(5)
        device.publish("kiosk/v1/v/kiosk-a/tx", b"mine", qos=1).wait_for_publish(5)
        assert got.wait(5)
        time.sleep(0.2)
        assert received == ["kiosk/v1/v/kiosk-a/tx"]
        assert _connect_fails("kiosk-a", "wrong", port)
        for c in (central, device):
            c.loop_stop()
            c.disconnect()
    finally:
        proc.kill()
        proc.wait()


def _client(user: str, port: int, password: str = "pw") -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}", protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    connected = threading.Event()
    client.on_connect = lambda *_a: connected.set()
    deadline = time.monotonic() + 5
    while True:
        try:
            client.connect("127.0.0.1", port)
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    client.loop_start()
    assert connected.wait(5)
    return client


def _connect_fails(user: str, password: str, port: int) -> bool:
    result: list[object] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="t-wrong", protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.on_connect = lambda _c, _u, _f, reason, _p: result.append(reason)
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 5
    while not result and time.monotonic() < deadline:
        client.loop(0.05)
    client.disconnect()
    return bool(result) and result[0].is_failure  # type: ignore[attr-defined]


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
