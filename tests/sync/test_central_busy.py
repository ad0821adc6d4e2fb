"""Central on SQLite: a database locked past its busy timeout fails one batch, never central's loop; the batch is
not acknowledged, so the device sends it again and it is stored then (issue 11 #8)."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from sqlalchemy import func, select

from kiosk.domain.clock import fixed_clock
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db
from sync_agent.central.service import CentralService
from sync_agent.messages import TxBatch, TxEvent, dumps
from sync_agent.mqtt import BrokerSettings
from tests.sync import event_samples as samples
from tests.sync.conftest import Keys

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def tx_message(device: str) -> mqtt.MQTTMessage:
    event = samples.checkin(device)
    tx = TxEvent(seq=1, event_id=event.event_id, kind="checkin", occurred_at="2026-11-28T18:59:00Z",
                 payload=dict(event.payload))  # fmt: skip
    batch = TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=[tx])
    msg = mqtt.MQTTMessage(topic=f"kiosk/v1/lac/{device}/tx".encode())
    msg.payload = dumps(batch.model_dump(mode="json"))
    return msg


def test_a_locked_central_database_fails_the_batch_not_the_loop(tmp_path: Path, keys: Keys) -> None:
    db = tmp_path / "central.sqlite"
    engine = open_central_db(str(db))
    central = CentralService(engine, BrokerSettings("127.0.0.1", 1), keys.signer, clock=fixed_clock(NOW))
    msg = tx_message("door-a")
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # a backup or a shell holding the write lock beyond the busy timeout
    try:
        central._on_message(central.client, None, msg)  # returns: the MQTT network thread goes on
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ct.events)).scalar_one() == 0
    assert central.batches_processed == 0  # not acknowledged: the device will send it again
    central._on_message(central.client, None, msg)  # the resend
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ct.events)).scalar_one() == 1
    assert central.batches_processed == 1
    engine.dispose()
