"""Central's ingest as a property: whatever order, repetition and splitting the batches arrive in, every valid
event is stored once, a ticket has one incident per entry beyond its allowance when two or more devices admitted
it (re-entries never count), and acks name every event sent. (Older databases: test_central_migrations.py.)"""

from __future__ import annotations

import inspect
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kiosk.domain.timeutil import iso
from sync_agent.central import ingest, publish, service
from sync_agent.central import tables as ct
from sync_agent.central.ingest import ingest_batch, mark_ack_sent, open_central_db
from sync_agent.messages import TxBatch, TxEvent

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def event(i: int, device: str, ticket: int, movement: str = "entry", allowed: int | None = None) -> TxEvent:
    eid = str(uuid.UUID(int=i))
    extra = {} if allowed is None else {"entries_allowed": allowed}  # None: an older device's event
    return TxEvent(
        seq=i + 1,
        event_id=eid,
        kind="checkin",
        occurred_at="2026-11-28T18:00:00Z",
        payload={
            "v": 1,
            "scan_id": eid,
            "device_id": device,
            "gate": "main",
            "verdict": "valid",
            "ticket_id": ticket,
            "performance_id": 12,
            "movement": movement,
            "scanned_at": f"2026-11-28T18:{i % 60:02d}:00Z",
            **extra,
        },
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tickets=st.lists(st.integers(1, 6), min_size=1, max_size=12),
    devices=st.lists(st.sampled_from(["door-a", "door-b", "door-c"]), min_size=12, max_size=12),
    reentries=st.sets(st.integers(0, 11), max_size=4),
    allowances=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=6, max_size=6),
    cuts=st.lists(st.integers(1, 4), min_size=1, max_size=8),
    repeats=st.lists(st.integers(0, 11), max_size=6),
    seed=st.randoms(use_true_random=False),
)
def test_any_delivery_order_stores_each_event_once(  # type: ignore[no-untyped-def]
    tmp_path_factory, tickets, devices, reentries, allowances, cuts, repeats, seed
) -> None:
    engine = open_central_db(str(Path(tmp_path_factory.mktemp("central")) / "c.sqlite"))
    events = [
        event(i, devices[i], t, "reentry" if i in reentries else "entry", allowances[t - 1])
        for i, t in enumerate(tickets)
    ]
    batches: list[TxBatch] = []
    pos = 0
    for size in itertools.cycle(cuts):
        if pos >= len(events):
            break
        chunk = events[pos : pos + size]
        by_device: dict[str, list[TxEvent]] = {}
        for e in chunk:
            by_device.setdefault(e.payload["device_id"], []).append(e)
        for dev, evs in by_device.items():
            batches.append(TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=dev, events=evs))
        pos += size
    deliveries = batches + [batches[r % len(batches)] for r in repeats]  # resends and redeliveries
    seed.shuffle(deliveries)
    for batch in deliveries:
        with engine.begin() as conn:
            result = ingest_batch(conn, "lac", batch, NOW)
        assert sorted(result.acked) == sorted(e.event_id for e in batch.events)
    with engine.connect() as conn:
        stored = list(conn.execute(select(ct.events.c.event_id)).scalars())
        per_ticket_incidents = dict(
            conn.execute(select(ct.incidents.c.ticket_id, func.count()).group_by(ct.incidents.c.ticket_id)).all()
        )
    assert sorted(stored) == sorted(e.event_id for e in events)
    entries: dict[int, list[str]] = {}
    for e in events:
        if e.payload["movement"] == "entry":
            entries.setdefault(e.payload["ticket_id"], []).append(e.payload["device_id"])
    for ticket in set(tickets):
        devs = entries.get(ticket, [])
        allowed = allowances[ticket - 1] or 1
        expected = max(0, len(devs) - allowed) if len(set(devs)) > 1 else 0
        found = per_ticket_incidents.get(ticket, 0)
        assert found == expected, f"ticket {ticket} (allows {allowed}): entries by {devs} gave {found} incidents"
    engine.dispose()


def test_central_times_come_from_the_injected_clock(tmp_path: Path) -> None:
    engine = open_central_db(str(tmp_path / "c.sqlite"))
    good, bad = event(1, "door-a", 5), event(2, "door-a", 6)
    bad = bad.model_copy(update={"payload": {**bad.payload, "gate": ""}})
    batch = TxBatch(v=1, batch_id="b1", device_id="door-a", events=[good, bad])
    with engine.begin() as conn:
        ingest_batch(conn, "lac", batch, NOW)
        mark_ack_sent(conn, "door-a", "b1", NOW + timedelta(seconds=1))
    with engine.connect() as conn:
        assert conn.execute(select(ct.events.c.received_at)).scalar_one() == iso(NOW)
        assert conn.execute(select(ct.rejections.c.at)).scalar_one() == iso(NOW)
        row = conn.execute(select(ct.batches.c.committed_at, ct.batches.c.ack_sent_at)).one()
    assert tuple(row) == (iso(NOW), iso(NOW + timedelta(seconds=1)))
    engine.dispose()
    for module in (service, publish, ingest):  # one clock: none of them asks the OS for the time
        source = inspect.getsource(module)
        assert "datetime.now" not in source and "def utc_now" not in source and "def now_iso" not in source
