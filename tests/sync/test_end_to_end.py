"""End to end over a real mosquitto: scans made by ScanningService reach central's database once and are acked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from kiosk.adapters.store import sync_tables as st
from kiosk.adapters.store.engine import Store
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import DemoVenue
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db
from sync_agent.status import read_status
from tests.sync.conftest import assert_exactly_once, pending, wait_until


def test_scans_reach_central_once_and_are_acked(
    demo_venue: tuple[Store, DemoVenue], demo_now, mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    store, venue = demo_venue
    clock = iter(demo_now + timedelta(seconds=i) for i in range(1000))
    scanning = scanning_service(store, "door-a", clock=lambda: next(clock))
    verdicts = [scanning.scan(code, "main").verdict.code.value for code, _ in venue.expected[:30]]
    assert "valid" in verdicts and any(v != "valid" for v in verdicts)
    assert pending(store) == 30

    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    start_agent(store, mosquitto, "door-a", keys, ack_timeout=2.0)

    wait_until(lambda: pending(store) == 0, what="the outbox to drain")
    engine = open_central_db(central_db)
    assert_exactly_once(store, engine)
    with engine.connect() as conn:
        kinds = {r.kind for r in conn.execute(select(ct.events.c.kind))}
        batches = conn.execute(select(ct.batches)).all()
    assert kinds == {"checkin", "failed_scan"}
    wait_until(lambda: all(b.ack_sent_at for b in _batches(engine)), what="ack deliveries recorded")
    assert batches and sum(b.new_events for b in batches) == 30

    def status_ok() -> bool:
        with store.read() as conn:
            s = read_status(conn)
        return s is not None and s.online and s.pending == 0 and s.last_ack_at is not None

    wait_until(status_ok, what="the status row to show online, nothing pending, last ack")
    with store.read() as conn:
        assert conn.execute(select(st.sync_status.c.catalog_version)).scalar_one() == venue.catalog.version


def _batches(engine):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(ct.batches)).all()
