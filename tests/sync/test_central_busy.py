"""Central on SQLite, its database locked past the busy timeout: the batch is held and retried, never central's loop
stopped; it is stored and acked once the lock is released, and the busy episode is reported (issue 11 #8)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from kiosk.domain.clock import fixed_clock
from sync_agent.central import tables as ct
from sync_agent.central.busy import FIRST_WAIT_S
from sync_agent.central.cli import main as central_main
from sync_agent.central.ingest import open_central_db, stats
from sync_agent.central.service import CentralService
from sync_agent.messages import TxBatch, TxEvent, dumps
from sync_agent.mqtt import BrokerSettings
from tests.sync import event_samples as samples
from tests.sync.conftest import (
    Keys,
    assert_exactly_once,
    central_count,
    open_device_store,
    pending,
    queue_events,
    wait_until,
)

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
HOLD_S = 10.0


def tx_message(device: str) -> mqtt.MQTTMessage:
    event = samples.checkin(device)
    tx = TxEvent(seq=1, event_id=event.event_id, kind="checkin", occurred_at="2026-11-28T18:59:00Z",
                 payload=dict(event.payload))  # fmt: skip
    batch = TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=[tx])
    msg = mqtt.MQTTMessage(topic=f"kiosk/v1/lac/{device}/tx".encode())
    msg.payload = dumps(batch.model_dump(mode="json"))
    return msg


def stored(central: CentralService) -> int:
    with central.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ct.events)).scalar_one())


def locked(db: Path) -> sqlite3.Connection:
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # a backup or a shell holding the write lock beyond the busy timeout
    return lock


def test_a_batch_the_locked_database_refused_is_held_and_stored_after_release(tmp_path: Path, keys: Keys) -> None:
    db = tmp_path / "central.sqlite"
    central = CentralService(open_central_db(str(db)), BrokerSettings("127.0.0.1", 1), keys.signer,
                             clock=fixed_clock(NOW))  # fmt: skip
    lock = locked(db)
    try:
        started = time.monotonic()
        central._on_message(central.client, None, tx_message("door-a"))
        # paho's network thread waited at most the short first wait, not the 5 s busy timeout.
        assert time.monotonic() - started < FIRST_WAIT_S + 1.0
        assert central.busy.holding() and central.busy.held() == 1
        started = time.monotonic()
        central._on_message(central.client, None, tx_message("door-b"))  # queued behind, no wait at all
        assert time.monotonic() - started < 0.5
        assert central.busy.summary().startswith("database busy since 2026-11-28T19:00:00")
        bad = mqtt.MQTTMessage(topic=b"kiosk/v1/lac/door-c/tx")
        bad.payload = b"{"
        started = time.monotonic()
        for _ in range(5):  # refused messages are counted; their journal rows do not wait for the lock
            central._on_message(central.client, None, bad)
        assert time.monotonic() - started < 2.0 and sum(central.bad_messages.values()) == 5
        wait_until(lambda: central.busy.retries > 0, timeout=10, what="a retry while locked")
        assert central.batches_processed == 0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_until(lambda: central.batches_processed == 2, timeout=10, what="the held batches to be committed")
    assert stored(central) == 2
    wait_until(lambda: central.busy.episodes == 1, what="the episode to end")
    assert central.busy.summary() == "" and not central.busy.holding()
    with central.engine.connect() as conn:
        busy = stats(conn)["database_busy"]["central-1"]
    assert busy["episodes"] == 1 and busy["retries"] >= 1 and busy["let_go"] == 0
    central.busy.stop()
    central.engine.dispose()


def test_a_batch_held_past_the_hold_is_let_go_unacked_and_stored_on_resend(tmp_path: Path, keys: Keys) -> None:
    db = tmp_path / "central.sqlite"
    central = CentralService(open_central_db(str(db)), BrokerSettings("127.0.0.1", 1), keys.signer,
                             clock=fixed_clock(NOW))  # fmt: skip
    central.busy.hold_s = 0.5  # so the test need not keep the lock for the real 30 s
    msg = tx_message("door-a")
    lock = locked(db)
    try:
        central._on_message(central.client, None, msg)
        wait_until(lambda: central.busy.let_go == 1, timeout=20, what="the held batch to be let go")
        assert central.busy.held() == 0 and central.batches_processed == 0  # not acked: the device resends
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    central._on_message(central.client, None, msg)  # the device's resend
    assert central.batches_processed == 1 and stored(central) == 1
    assert central.busy.episodes == 1 and central.busy.last is not None and central.busy.last.let_go == 1
    central.busy.stop()
    central.engine.dispose()


@pytest.mark.broker
def test_central_database_locked_10s_while_a_door_sends(
    mosquitto, keys, start_central, start_agent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = 300
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, events, "door-a")
    central_db = tmp_path / "central.sqlite"
    central = start_central(str(central_db), mosquitto, keys)
    lock = locked(central_db)
    held_from = time.monotonic()
    try:
        # The device never resends within the test: whatever reaches central is stored by central's own retries.
        agent = start_agent(store, mosquitto, "door-a", keys, batch_size=100, ack_timeout=300.0)
        wait_until(central.busy.holding, timeout=HOLD_S - 3, what="central to hold a batch")
        assert central.client.is_connected(), "central's MQTT loop stopped (keepalive 5 s)"
        assert central.busy.held() >= 1
        assert pending(store) == events and agent.thread.is_alive()
        assert central_main(["stats", "--db", str(central_db)]) == 1  # one line saying why, not a traceback
        assert "kiosk-central: database busy" in capsys.readouterr().err
        threading.Event().wait(max(0.0, HOLD_S - (time.monotonic() - held_from)))  # the deliberate hold
        assert central.client.is_connected() and agent.thread.is_alive()
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    wait_until(lambda: pending(store) == 0, timeout=30, what="every batch acked after the release")
    assert central_count(central.engine) == events
    assert_exactly_once(store, central.engine)
    assert agent.agent.counters.resends == 0
    assert central.busy.retries >= 1
    wait_until(lambda: central.busy.episodes == 1, what="the episode to end")
    assert central.busy.last is not None and central.busy.last.seconds > HOLD_S - 3
    assert central_main(["stats", "--db", str(central_db)]) == 0
    out = capsys.readouterr().out
    assert f"events {events}" in out and "database busy (central-1): 1 episodes" in out, out
