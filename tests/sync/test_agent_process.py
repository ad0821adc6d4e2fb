"""The agent as systemd runs it: READY=1, WATCHDOG=1 from the main loop (a stuck loop stops them), STATUS=,
STOPPING=1 and exit 0 on SIGTERM; retained presence with a last will when it is killed -9."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.domain.clock import fixed_clock
from sync_agent.status import read_status
from sync_agent.topics import DeviceTopics
from tests.sync.conftest import (
    VENUE,
    Proc,
    RecordingNotifier,
    open_device_store,
    queue_events,
    sync_cmd,
    wait_until,
)

pytestmark = pytest.mark.broker


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            for line in data.decode().splitlines():
                self.messages.append((time.monotonic(), line))

    def lines(self) -> list[str]:
        return [m for _, m in self.messages]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def presence(broker, device: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    got: list[bytes] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{time.monotonic_ns()}", protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: got.append(m.payload)
    c.connect(broker.host, broker.port)
    c.loop_start()
    c.subscribe(DeviceTopics(VENUE, device).status, qos=1)
    wait_until(lambda: bool(got), 5, "the retained status")
    c.disconnect()
    c.loop_stop()
    return json.loads(got[-1])  # type: ignore[no-any-return]


def test_systemd_notify_sigterm_and_last_will(
    mosquitto, keys, procs: list[Proc], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)
    queue_events(store, 10, "door-a")
    with store.write() as conn:  # a label the printer refused: presence reports it
        conn.exec_driver_sql(
            "INSERT INTO print_jobs (job_id, format, dpi, state, last_status, zpl, created_at, updated_at) "
            "VALUES ('j1', 'show', 203, 'failed', 'paper out', '^XA^XZ', '2026-11-28T18:00:00.000000Z', "
            "'2026-11-28T18:00:00.000000Z')"
        )
    notify = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    try:
        procs.append(Proc(sync_cmd(db, mosquitto, "door-a", keys), tmp_path / "agent1.log"))
        wait_until(lambda: any(m.startswith("READY=1") for m in notify.lines()), what="READY=1")
        wait_until(lambda: notify.lines().count("WATCHDOG=1") >= 3, what="watchdog pings")
        assert any(m.startswith("STATUS=") for m in notify.lines())
        wait_until(lambda: presence(mosquitto, "door-a").get("online") is True, what="online presence")
        health = presence(mosquitto, "door-a")["health"]
        assert health["print_failed"] == 1 and health["printer_last"]["status"] == "paper out"  # type: ignore[index]
        procs[0].kill9()
        wait_until(lambda: presence(mosquitto, "door-a").get("online") is False, what="the last will")

        procs.append(Proc(sync_cmd(db, mosquitto, "door-a", keys), tmp_path / "agent2.log"))
        wait_until(lambda: presence(mosquitto, "door-a").get("online") is True, what="online again")
        assert procs[1].term() == 0, procs[1].log()
        assert "STOPPING=1" in notify.lines()
        assert presence(mosquitto, "door-a").get("online") is False
        with store.read() as conn:
            status = read_status(conn)
        assert status is not None and not status.online
    finally:
        notify.close()


def test_a_stuck_loop_stops_the_watchdog_pings(
    mosquitto, keys, start_agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that hangs (here a command handler waiting on an event) stops the pings; they resume after it."""
    store = open_device_store(tmp_path / "dev.sqlite")
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    entered, release = threading.Event(), threading.Event()

    def hang(_conn: object, _args: object) -> str:
        entered.set()
        release.wait(20)
        return "released"

    notifier = RecordingNotifier()
    issued = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    agent = start_agent(
        store, mosquitto, "door-a", keys, clock=fixed_clock(issued), notifier=notifier, commands={"hang": hang}
    )
    wait_until(lambda: notifier.lines().count("WATCHDOG=1") >= 3 and agent.agent.subscribed, what="pings, SUBACK")
    body = {"v": 1, "type": "command", "command_id": str(uuid.uuid4()), "device_id": "door-a", "name": "hang",
            "issued_at": "2026-11-28T18:00:00Z"}  # fmt: skip
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central-probe", protocol=mqtt.MQTTv5)
    c.connect(mosquitto.host, mosquitto.port)
    c.loop_start()
    try:
        c.publish(DeviceTopics(VENUE, "door-a").cmd, json.dumps(keys.signer.envelope(body)), qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()
    assert entered.wait(10), "the command never reached its handler"
    stuck_from = time.monotonic()
    release.wait(1.0)  # the deliberate window: ten ping intervals with the loop stuck
    pings_while_stuck = [m for t, m in notifier.messages if t > stuck_from and m == "WATCHDOG=1"]
    release.set()
    assert pings_while_stuck == []
    resumed = time.monotonic()
    wait_until(lambda: any(t > resumed and m == "WATCHDOG=1" for t, m in notifier.messages), what="pings again")
    assert agent.thread.is_alive()
