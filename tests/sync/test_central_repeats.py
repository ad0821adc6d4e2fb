"""An event id is bound to the device that first sent it: only that device's identical repeat is acked as known;
the id from another device (`id_taken`) or with other content (`conflicting_repeat`) is rejected, recorded as a
conflict (`kiosk-central incidents`, stats) and never acked."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, update

from kiosk.domain.outbox import OutboxEvent
from sync_agent.central import cli, ingest
from sync_agent.central import tables as ct
from sync_agent.central.ingest import IngestResult, ingest_batch, open_central_db, stats
from sync_agent.central.repeats import Held, held, list_conflicts
from sync_agent.messages import TxBatch, TxEvent
from tests.sync import event_samples as samples
from tests.sync.conftest import wait_until

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_central_db(str(tmp_path / "central.sqlite"))


def tx(event: OutboxEvent, occurred_at: str = "2026-11-28T18:00:00Z", **payload: Any) -> TxEvent:
    body = {**event.payload, **payload}
    return TxEvent(seq=1, event_id=event.event_id, kind=event.kind, occurred_at=occurred_at, payload=body)


def send(engine: Engine, device: str, *events: TxEvent) -> IngestResult:
    with engine.begin() as conn:
        return ingest_batch(
            conn, "lac", TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=list(events)), NOW
        )


def owner(engine: Engine, event_id: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(ct.events.c.device_id).where(ct.events.c.event_id == event_id)).scalar_one())


def test_another_devices_id_is_rejected_never_acked_and_listed(
    engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    real = samples.checkin("door-a", ticket=5)
    assert send(engine, "door-a", tx(real)).acked == [real.event_id]
    forged = tx(real, device_id="door-b", ticket_id=99)  # door-b's own content under door-a's id
    result = send(engine, "door-b", forged)
    assert result.acked == [] and [r.reason for r in result.rejected] == ["id_taken"]
    assert owner(engine, real.event_id) == "door-a"
    # door-b's identical copy of door-a's event (its device id would be a device_mismatch) is refused too.
    assert [r.reason for r in send(engine, "door-b", tx(real, device_id="door-b")).rejected] == ["id_taken"]
    with engine.connect() as conn:
        conflicts = list_conflicts(conn)
        assert stats(conn)["conflicts"] == 2 and stats(conn)["rejected"] == {"id_taken": 2}
    assert {(c["reason"], c["owner_device"], c["device_id"], c["event_id"]) for c in conflicts} == {
        ("id_taken", "door-a", "door-b", real.event_id)
    }
    db = str(engine.url.database)
    capsys.readouterr()
    assert cli.main(["incidents", "--db", db]) == 0
    assert (
        f"id_taken venue lac checkin {real.event_id}: first sent by door-a, rejected from door-b"
        in capsys.readouterr().out
    )
    assert cli.main(["incidents", "--db", db, "--json"]) == 0
    assert [r["kind"] for r in json.loads(capsys.readouterr().out)] == ["id_taken", "id_taken"]


def test_a_repeat_with_other_content_is_a_conflict_and_an_identical_one_is_acked(engine: Engine) -> None:
    sale = samples.sale("door-a")
    assert send(engine, "door-a", tx(sale)).acked == [sale.event_id]
    assert send(engine, "door-a", tx(sale)).acked == [sale.event_id]  # a resend after a lost ack
    for changed in (tx(sale, order_ref="W9999999"), tx(sale, occurred_at="2026-11-28T18:00:01Z")):
        result = send(engine, "door-a", changed)
        assert result.acked == [] and [r.reason for r in result.rejected] == ["conflicting_repeat"]
    other = samples.reprint("door-a")
    wrong_kind = TxEvent(seq=1, event_id=sale.event_id, kind="reprint", occurred_at="2026-11-28T18:00:00Z",
                         payload={**other.payload, "job_id": sale.event_id})  # fmt: skip
    assert [r.reason for r in send(engine, "door-a", wrong_kind).rejected] == ["conflicting_repeat"]
    with engine.connect() as conn:
        assert [c["reason"] for c in list_conflicts(conn)] == ["conflicting_repeat"] * 3


def test_within_one_batch_the_second_copy_of_an_id_is_compared_with_the_first(engine: Engine) -> None:
    a = samples.checkin("door-a")
    result = send(engine, "door-a", tx(a), tx(a), tx(a, gate="side"))
    assert result.acked == [a.event_id, a.event_id]
    assert [r.reason for r in result.rejected] == ["conflicting_repeat"]
    assert result.new_events == 1


def test_an_event_stored_before_defaults_were_filled_in_is_still_an_identical_repeat(engine: Engine) -> None:
    event = samples.checkin("door-a")
    assert send(engine, "door-a", tx(event)).acked == [event.event_id]
    old = {k: v for k, v in event.payload.items() if k != "entries_allowed"}  # as an older central stored it
    with engine.begin() as conn:
        conn.execute(update(ct.events).values(payload=json.dumps(old)))
    assert send(engine, "door-a", tx(event)).acked == [event.event_id]
    with engine.begin() as conn:
        conn.execute(update(ct.events).values(payload="not json"))
    assert [r.reason for r in send(engine, "door-a", tx(event)).rejected] == ["conflicting_repeat"]


def batch_of(device: str, *events: TxEvent) -> TxBatch:
    return TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=list(events))


def test_an_id_stored_by_another_instance_after_we_looked_is_still_taken(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = samples.checkin("door-a")
    assert send(engine, "door-b", tx(real, device_id="door-b")).acked == [real.event_id]
    looks: list[list[str]] = []

    def first_look_blind(conn: Connection, ids: list[str]) -> dict[str, Held]:
        looks.append(ids)  # the first look misses B's row, as if B's commit came just after it
        return {} if len(looks) == 1 else held(conn, ids)

    monkeypatch.setattr(ingest, "held", first_look_blind)
    result = send(engine, "door-a", tx(real), tx(other := samples.checkin("door-a")))
    assert result.acked == [other.event_id] and [r.reason for r in result.rejected] == ["id_taken"]
    assert result.new_events == 1 and [a.scan_id for a in result.new_admissions] == [other.event_id]
    with engine.connect() as conn:
        assert [(c["owner_device"], c["device_id"]) for c in list_conflicts(conn)] == [("door-b", "door-a")]
    assert len(looks) == 2


@pytest.mark.postgres
def test_two_instances_taking_one_id_from_two_devices_at_once_on_postgresql(pg_url: str) -> None:
    engine = open_central_db(pg_url)
    real = samples.checkin("door-a")
    out: dict[str, IngestResult] = {}

    def door_a() -> None:
        with engine.begin() as conn:
            out["a"] = ingest_batch(conn, "lac", batch_of("door-a", tx(real)), NOW)

    def waiting() -> bool:
        with engine.connect() as conn:
            query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            return bool(conn.exec_driver_sql(query).scalar_one())

    with engine.connect() as first:
        b = ingest_batch(first, "lac", batch_of("door-b", tx(real, device_id="door-b")), NOW)
        assert b.acked == [real.event_id]  # B's copy, not committed yet
        thread = threading.Thread(target=door_a)
        thread.start()
        wait_until(waiting, 10, "door A's insert waiting on B's uncommitted row")
        first.commit()
    thread.join(10)
    assert out["a"].acked == [] and [r.reason for r in out["a"].rejected] == ["id_taken"]
    assert owner(engine, real.event_id) == "door-b"
    engine.dispose()
