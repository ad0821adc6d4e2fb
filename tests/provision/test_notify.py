"""The sd_notify protocol as systemd sees it: a datagram socket at $NOTIFY_SOCKET receives READY=1, then WATCHDOG=1
pings at half of WatchdogSec; the pings stop while the loop is stuck, so systemd would restart the service.

A tiny loop driver of our own shows the contract; the real `kiosk-sync` agent is then run against the same socket.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.adapters.sdnotify import SystemdNotifier, watchdog_interval
from kiosk.adapters.store.engine import open_store
from tests.fixtures.broker import MosquittoBroker
from tests.fixtures.notify import NotifySocket

WATCHDOG_USEC = 200_000  # WatchdogSec=0.2: pings expected every 0.1 s


class LoopDriver:
    """The shape every service loop follows: READY once, then one step and (when due) one ping per turn."""

    def __init__(self, notifier: SystemdNotifier, step: Callable[[], object]) -> None:
        self.notifier, self.step = notifier, step

    def run(self, stop: threading.Event) -> None:
        interval = watchdog_interval()
        self.notifier.ready("loop: running")
        last = 0.0
        while not stop.is_set():
            self.step()
            if interval is not None and time.monotonic() - last >= interval:
                self.notifier.watchdog()
                self.notifier.status("loop: ok")
                last = time.monotonic()
            stop.wait(0.005)
        self.notifier.stopping()


def test_ready_then_pings_that_stop_while_the_loop_is_stuck(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == pytest.approx(0.1)
    healthy = threading.Event()
    healthy.set()
    driver = LoopDriver(SystemdNotifier(notify_socket.address), healthy.wait)
    stop = threading.Event()
    thread = threading.Thread(target=driver.run, args=(stop,))
    thread.start()
    try:
        assert notify_socket.wait_for(lambda: len(notify_socket.pings()) >= 5)
        first = notify_socket.messages[0][1]
        assert first.startswith("READY=1") and "STATUS=loop: running" in first
        pings = notify_socket.pings()
        assert max(b - a for a, b in itertools.pairwise(pings)) < WATCHDOG_USEC / 1e6  # never late

        healthy.clear()  # the step now blocks: the loop is stuck
        stuck_at = time.monotonic() + 0.05  # a ping already in flight may still land
        time.sleep(0.6)  # three watchdog periods: systemd would have killed it
        assert notify_socket.pings(since=stuck_at) == []

        healthy.set()
        resumed = time.monotonic()
        assert notify_socket.wait_for(lambda: len(notify_socket.pings(since=resumed)) >= 2)
    finally:
        healthy.set()
        stop.set()
        thread.join(5)
    assert notify_socket.wait_for(lambda: notify_socket.messages[-1][1] == "STOPPING=1", 2)


def test_no_socket_no_pings_and_no_crash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not SystemdNotifier().enabled and not SystemdNotifier().watchdog()
    assert not SystemdNotifier(str(tmp_path / "gone")).ready()  # systemd went away: report, do not raise
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval() is None


@pytest.mark.broker
def test_real_sync_agent_sends_ready_and_pings_until_stopped(
    notify_socket: NotifySocket, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """`kiosk-sync --config` as the unit starts it: READY, regular pings; SIGSTOP (a hung process) stops them."""
    state = tmp_path / "state"
    state.mkdir()
    open_store(state / "kiosk.sqlite", create=True).close()
    public = Ed25519PrivateKey.generate().public_key()
    (state / "central.pub").write_text(
        public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex() + "\n"
    )
    config = tmp_path / "kiosk.toml"
    config.write_text(
        'version = 2\n[device]\nid = "kiosk-n1"\nvenue = "v"\ngate = "g"\n'
        f'[broker]\nurl = "{mosquitto.url}"\n[paths]\nstate_dir = "{state}"\ndatabase = "{state}/kiosk.sqlite"\n'
    )
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    env.pop("CREDENTIALS_DIRECTORY", None)
    # systemd sets WATCHDOG_PID to the service's main pid; here that pid is only known inside the child.
    code = "import os, sys; os.environ['WATCHDOG_PID'] = str(os.getpid()); from sync_agent.cli import main; "
    code += "sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--config", str(config), "--log-level", "WARNING"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        if not notify_socket.wait_for(lambda: len(notify_socket.pings()) >= 3, timeout=20):
            proc.kill()
            pytest.fail(f"no READY/pings from kiosk-sync: {proc.communicate()}")
        kinds = [m.split("\n")[0].split("=")[0] for _, m in notify_socket.messages]
        assert "READY" in kinds and kinds.index("READY") < kinds.index("WATCHDOG")  # STATUS= may come first
        assert any("STATUS=" in m for _, m in notify_socket.messages)  # what `systemctl status` shows
        proc.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic() + 0.05
        time.sleep(0.5)
        assert notify_socket.pings(since=stopped_at) == []
        proc.send_signal(signal.SIGCONT)
        resumed = time.monotonic()
        assert notify_socket.wait_for(lambda: len(notify_socket.pings(since=resumed)) >= 2)
        proc.terminate()
        assert proc.wait(10) == 0
        assert notify_socket.wait_for(lambda: any(m == "STOPPING=1" for _, m in notify_socket.messages), 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
