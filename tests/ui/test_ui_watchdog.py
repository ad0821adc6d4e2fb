"""The UI under systemd's watchdog, as kiosk-ui.service runs it: READY=1 once the first screen is drawn, WATCHDOG=1
from Kivy's main loop, STATUS= with the screen; a hung main loop stops the pings while the process lives on.

Real parts: a datagram socket at $NOTIFY_SOCKET (tests/fixtures/notify.py), the real app (`kiosk demo`) and a real
Kivy main loop under the test's Xvfb. WATCHDOG_PID is this test's pid: in the unit it is cage's, the app's parent.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.ui.watchdog import UiWatchdog, ping_interval
from tests.fixtures.notify import NotifySocket

pytestmark = pytest.mark.ui
WATCHDOG_USEC = 1_000_000  # WatchdogSec=1: pings every 0.5 s; a gap of 1 s would get the app killed
PERIOD_S = WATCHDOG_USEC / 1e6
APP_WATCHDOG_USEC = 2_000_000  # the whole app on a busy CI machine: pings every second, killed after 2 s


def watched_env(kivy_env: dict[str, str], notify_socket: NotifySocket, usec: int = WATCHDOG_USEC) -> dict[str, str]:
    return {
        **kivy_env,
        "NOTIFY_SOCKET": notify_socket.address,
        "WATCHDOG_USEC": str(usec),
        "WATCHDOG_PID": str(os.getpid()),  # the parent's, as systemd gives cage's pid to the app cage starts
    }


def first(notify_socket: NotifySocket, key: str) -> int:
    return next(i for i, (_t, m) in enumerate(notify_socket.messages) if key in m.split("\n"))


@pytest.mark.parametrize("notify_socket", ["path"], indirect=True)  # the abstract one is the next test's
def test_the_app_says_ready_with_its_screen_then_pings_from_its_loop(
    notify_socket: NotifySocket, kivy_env: dict[str, str], tmp_path: Path
) -> None:
    period = APP_WATCHDOG_USEC / 1e6
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "demo", "--role", "sales", "--db", str(tmp_path / "demo.sqlite")],
        env=watched_env(kivy_env, notify_socket, APP_WATCHDOG_USEC), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        if not notify_socket.wait_for(lambda: len(notify_socket.pings()) >= 4, timeout=60):
            proc.kill()
            pytest.fail(f"no READY/pings from the app: {notify_socket.messages} {proc.communicate()[1][-3000:]}")
        ready = notify_socket.messages[first(notify_socket, "READY=1")][1]
        assert "STATUS=screen sales" in ready, ready
        assert first(notify_socket, "READY=1") < first(notify_socket, "WATCHDOG=1")
        pings = notify_socket.pings()
        assert max(b - a for a, b in itertools.pairwise(pings)) < period  # never late enough to be killed

        proc.send_signal(signal.SIGSTOP)  # the whole process hangs: no pings
        stopped_at = time.monotonic() + 0.05
        time.sleep(2 * period)  # two watchdog periods without pings: systemd would have restarted it
        assert notify_socket.pings(since=stopped_at) == []
        proc.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        assert notify_socket.wait_for(lambda: len(notify_socket.pings(since=resumed)) >= 2, timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


# A real Kivy main loop with the app's watchdog; a Clock callback then blocks that loop (reading stdin) while a
# background thread keeps announcing that the process is alive.
HANG_PROBE = """
import threading, time, sys
from kiosk.ui.launch import prepare_kivy
prepare_kivy()
from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label
from kiosk.adapters.sdnotify import SystemdNotifier
from kiosk.ui.watchdog import UiWatchdog

notifier = SystemdNotifier()

def alive():
    while True:
        notifier.notify("X-ALIVE=1")
        time.sleep(0.1)

class Probe(App):
    def build(self):
        self.dog = UiWatchdog(notifier, lambda: "screen probe")
        Clock.schedule_once(lambda _dt: self.dog.start(Window), 0)
        Clock.schedule_interval(self.check, 0.05)
        return Label(text="probe")

    def check(self, _dt):
        if self.dog.pings == 3:
            self.dog.pings += 1
            notifier.status("hanging")
            sys.stdin.readline()  # the main loop is stuck here until the test writes a line
            notifier.status("unstuck")
        if self.dog.pings >= 7:
            self.stop()

    def on_stop(self):
        self.dog.stop()

threading.Thread(target=alive, daemon=True).start()
Probe().run()
"""


@pytest.mark.parametrize("notify_socket", ["abstract"], indirect=True)
def test_a_hung_main_loop_stops_the_pings_while_the_process_lives(
    notify_socket: NotifySocket, kivy_env: dict[str, str], tmp_path: Path
) -> None:
    script = tmp_path / "hang_probe.py"
    script.write_text(HANG_PROBE)
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=watched_env(kivy_env, notify_socket), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    try:
        if not notify_socket.wait_for(lambda: any(m == "STATUS=hanging" for _t, m in notify_socket.messages), 60):
            proc.kill()
            pytest.fail(f"the probe never hung: {notify_socket.messages} {proc.communicate()[1][-3000:]}")
        hung_at = next(t for t, m in notify_socket.messages if m == "STATUS=hanging")
        time.sleep(3 * PERIOD_S)  # three watchdog periods: systemd would have killed the UI by now
        late = [t for t, m in notify_socket.messages if t > hung_at]
        alive = [t for t, m in notify_socket.messages if t > hung_at and m == "X-ALIVE=1"]
        assert notify_socket.pings(since=hung_at) == [], "a ping came while the main loop was stuck"
        assert len(alive) >= 10 and len(late) == len(alive), "the process itself kept running"

        proc.stdin.write("go on\n")
        proc.stdin.flush()
        released = time.monotonic()
        assert notify_socket.wait_for(lambda: len(notify_socket.pings(since=released)) >= 2, timeout=10)
        assert proc.wait(30) == 0
        assert notify_socket.wait_for(lambda: any(m == "STOPPING=1" for _t, m in notify_socket.messages), 2)
        assert notify_socket.messages[first(notify_socket, "READY=1")][1] == "READY=1\nSTATUS=screen probe"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_ping_interval_accepts_the_watchdog_of_the_process_or_its_parent() -> None:
    env = {"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "41"}
    assert ping_interval(env, pid=41, parent=1) == 10.0  # the app is the unit's main process
    assert ping_interval(env, pid=77, parent=41) == 10.0  # the app is cage's child (NotifyAccess=all)
    assert ping_interval(env, pid=77, parent=78) is None  # meant for another process
    assert ping_interval({"WATCHDOG_USEC": "20000000"}, pid=77, parent=78) == 10.0
    assert ping_interval({}, pid=77, parent=78) is None  # no watchdog configured
    assert ping_interval({"WATCHDOG_USEC": "soon"}, pid=77, parent=78) is None


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def ready(self, status: str | None = None) -> bool:
        self.sent.append(f"READY {status}")
        return True

    def watchdog(self) -> bool:
        self.sent.append("WATCHDOG")
        return True

    def status(self, text: str) -> bool:
        self.sent.append(f"STATUS {text}")
        return True

    def stopping(self) -> bool:
        self.sent.append("STOPPING")
        return True


def test_watchdog_sends_ready_once_and_status_only_when_it_changes() -> None:
    screen = ["door"]
    scheduled: list[float] = []
    recorder = Recorder()
    dog = UiWatchdog(recorder, lambda: f"screen {screen[0]}", interval=2.0, schedule=lambda _cb, s: scheduled.append(s))
    dog.shown()
    dog.shown()  # a later frame: not a second READY
    dog.tick()
    screen[0] = "technician"
    dog.tick()
    dog.tick()
    dog.stop()
    assert scheduled == [2.0]
    assert recorder.sent == [
        "READY screen door", "WATCHDOG", "WATCHDOG", "STATUS screen technician", "WATCHDOG", "STOPPING",
    ]  # fmt: skip


def test_without_a_watchdog_the_app_only_says_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    recorder = Recorder()
    silent = UiWatchdog(recorder, lambda: "screen door", schedule=lambda _cb, _s: pytest.fail("pings scheduled"))
    assert silent.interval is None
    silent.shown()
    assert recorder.sent == ["READY screen door"]
