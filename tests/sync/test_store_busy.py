"""A busy store never kills the agent: another process holds SQLite's write lock for 10 s while the real agent runs
against a real mosquitto and central. The agent stays alive (watchdog pings go on), says the store is busy in its
presence and systemd STATUS line, goes on sending (reads work under WAL), and once the lock is released writes
every ack it kept: nothing lost, everything acked by central exactly once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync_agent.central.ingest import open_central_db
from sync_agent.status import read_status
from sync_agent.topics import DeviceTopics
from tests.sync.conftest import (
    VENUE,
    RecordingNotifier,
    assert_exactly_once,
    central_count,
    open_device_store,
    pending,
    queue_events,
    wait_until,
)

pytestmark = pytest.mark.broker
HOLD_S = 10.0
EVENTS = 2000


class PresenceWatcher:
    """Every presence message the device publishes, parsed, in arrival order."""

    def __init__(self, broker: Any, device: str) -> None:
        self.got: list[dict[str, Any]] = []
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{device}", protocol=mqtt.MQTTv5)
        self.c.on_message = lambda _c, _u, msg: self.got.append(json.loads(msg.payload))
        self.c.connect(broker.host, broker.port)
        self.c.loop_start()
        self.c.subscribe(DeviceTopics(VENUE, device).status, qos=1)

    def latest(self) -> dict[str, Any]:
        return self.got[-1] if self.got else {}

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def test_store_locked_for_10s_delays_the_agent_but_never_stops_it(
    mosquitto, keys, start_central, start_agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)
    queue_events(store, EVENTS, "door-a")
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = RecordingNotifier()
    watcher = PresenceWatcher(mosquitto, "door-a")
    # The UI (or a technician's sqlite3) takes the write lock and keeps it: the agent starts behind it.
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    held_from = time.monotonic()
    try:
        agent = start_agent(store, mosquitto, "door-a", keys, notifier=notifier, batch_size=100, status_interval=0.1)

        def says_busy(p: dict[str, Any]) -> bool:
            return p.get("online") is True and p.get("health", {}).get("store") == "busy"

        wait_until(lambda: any(says_busy(p) for p in watcher.got), timeout=HOLD_S - 2, what="presence: store busy")
        assert any("store busy since" in line for line in notifier.lines("STATUS=")), notifier.lines("STATUS=")
        # Reads still work under WAL: central gets every event while the device cannot record a single ack.
        wait_until(lambda: central_count(engine) == EVENTS, timeout=HOLD_S - 2, what="central to get the events")
        assert pending(store) == EVENTS
        assert agent.thread.is_alive()
        threading.Event().wait(max(0.0, HOLD_S - (time.monotonic() - held_from)))  # the deliberate hold
        late = time.monotonic() - 2.0
        assert [m for t, m in notifier.messages if t > late and m == "WATCHDOG=1"], "no pings while the store is busy"
        assert agent.thread.is_alive()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    wait_until(lambda: pending(store) == 0, timeout=30, what="the kept acks to be written")
    assert_exactly_once(store, engine)
    wait_until(lambda: watcher.latest().get("health", {}).get("store") == "ok", what="presence: store ok again")
    wait_until(lambda: "store" not in notifier.lines("STATUS=")[-1], what="a STATUS line without the trouble")

    def row_is_clean() -> bool:
        with store.read() as conn:
            s = read_status(conn)
        return s is not None and s.online and s.pending == 0 and "store" not in s.text

    wait_until(row_is_clean, what="the status row written again, without the trouble")
    assert agent.agent.counters.store_busy > 0
    watcher.close()
