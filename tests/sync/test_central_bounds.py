"""Central refuses a tx message over its byte bound before parsing it (counted `tx:too_large`, nothing stored),
and the agent never makes one: it fills a batch to at most half the bound, whatever its events weigh."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.domain.outbox import OutboxEvent
from sync_agent import messages as m
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db, stats
from sync_agent.outbound import next_batch
from tests.sync.conftest import VENUE, open_device_store, wait_until
from tests.sync.test_broker import Client

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


@pytest.mark.broker
def test_a_5_mb_message_is_refused_unparsed_and_nothing_is_stored(
    mosquitto, keys, start_central, tmp_path: Path
) -> None:
    db = str(tmp_path / "central.sqlite")
    central = start_central(db, mosquitto, keys)
    blob = "x" * (5 * 1024 * 1024)
    event = {"seq": 1, "event_id": str(uuid.uuid4()), "kind": "voucher", "occurred_at": "2026-11-28T18:00:00Z",
             "payload": {"v": 1, "device_id": "door-a", "blob": blob}}  # fmt: skip
    batch = json.dumps({"v": 1, "batch_id": "b1", "device_id": "door-a", "events": [event]}).encode()
    not_json = b'{"v": 1, "events": [' + blob.encode()  # parsed, this would be malformed_json
    device = Client(mosquitto, "door-a")
    device.sub(f"kiosk/v1/{VENUE}/door-a/ack")
    try:
        device.pub(f"kiosk/v1/{VENUE}/door-a/tx", batch)
        device.pub(f"kiosk/v1/{VENUE}/door-a/tx", not_json)
        engine = open_central_db(db)

        def refused() -> int:
            with engine.connect() as conn:
                return int(stats(conn)["rejected"].get("tx:too_large", 0))

        wait_until(lambda: refused() == 2, 20, "both messages refused")
    finally:
        device.close()
    assert central.bad_messages == {"tx:too_large": 2}
    assert device.messages == []  # no batch to name: no ack
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ct.events)).scalar_one() == 0
        assert set(stats(conn)["rejected"]) == {"tx:too_large"}


def test_the_agent_fills_a_batch_to_half_the_bound(tmp_path: Path) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    with store.write() as conn:
        for i in range(150):  # 30 KB each, the size of a sale of 40 signed tickets: 4.5 MB in all
            eid = str(uuid.uuid4())
            SqlOutboxStore().append(conn, OutboxEvent(eid, "sale", AT, {"v": 1, "n": i, "blob": "y" * 30_000}))
    seen = 0
    with store.read() as conn:
        while (batch := next_batch(conn, "till-1", seen, 500, "2026-11-28T18:00:00.000000Z")) is not None:
            assert len(batch.body) <= m.MAX_TX_BYTES // 2 + 31_000
            assert json.loads(batch.body)["sent_at"] == "2026-11-28T18:00:00.000000Z"
            seen = batch.last_seq
            if seen < 150:
                assert len(batch.body) > m.MAX_TX_BYTES // 2 - 31_000  # full, not one event at a time
    assert seen == 150
    with store.write() as conn:
        SqlOutboxStore().append(conn, OutboxEvent("huge", "sale", AT, {"blob": "z" * (3 * 1024 * 1024)}))
    with store.read() as conn:
        alone = next_batch(conn, "till-1", 150, 500)
    assert alone is not None and alone.event_ids == ["huge"]  # an oversize event still travels, to be refused


def test_central_refuses_a_snapshot_no_device_would_accept(
    tmp_path: Path, keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync_agent.central.publish import tickets_snapshot_message

    engine = open_central_db(str(tmp_path / "central.sqlite"))
    doc = {"ticket_id": 1, "event_id": 1, "code": "CODE-1", "performance_id": 1, "tariff_id": 1}
    tickets_snapshot_message(engine, keys.signer, VENUE, [doc])
    monkeypatch.setitem(m.MAX_BYTES, "tickets_snapshot", 2048)  # the real bound is 48 MiB: too big to build here
    many = [{**doc, "ticket_id": i, "code": f"CODE-{i}"} for i in range(100)]
    with pytest.raises(ValueError, match="devices accept at most 2048"):
        tickets_snapshot_message(engine, keys.signer, VENUE, many)
    with engine.connect() as conn:  # the list devices already hold stays central's list
        assert conn.execute(select(func.count()).select_from(ct.tickets)).scalar_one() == 1
