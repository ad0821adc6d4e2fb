"""The venue broker bridged to central's broker (sync_agent/broker/bridge.conf): events cross the bridge and are
acked back; with the bridge's far end down, doors still learn each other's admissions on the venue broker and
their events wait — then drain exactly once when central's broker returns."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import open_store
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.peer_admissions import peer_id
from sync_agent.broker.bridge import bridge_config
from sync_agent.central.ingest import open_central_db
from tests.conftest import DEMO_NOW
from tests.sync.conftest import VENUE, assert_exactly_once, pending, queue_events, wait_until
from tests.sync.test_broker import venue_security_conf

pytestmark = pytest.mark.broker


def test_events_cross_the_bridge_and_doors_keep_talking_when_it_is_down(
    mosquitto_factory, keys, start_central, start_agent, tmp_path: Path
) -> None:
    central_broker = mosquitto_factory(name="central")
    conf = bridge_config(
        VENUE, f"{central_broker.host}:{central_broker.port}", local_user="central", local_password="pw-central"
    ).replace("restart_timeout 2 30", "restart_timeout 1 1")
    # The venue broker with the shipped accounts and ACLs: the bridge and the doors' peer traffic work under them.
    security = venue_security_conf(tmp_path / "venue-security", ("door-a", "door-b", "central"))
    venue_broker = mosquitto_factory(conf + security, anonymous=False, name="venue")
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, central_broker, keys)

    venue = build_demo_venue(DEMO_NOW, 20, seed=2)
    stores = []
    for name in ("a", "b"):
        store = open_store(tmp_path / f"{name}.sqlite", create=True)
        install_demo_venue(store, venue, None, DEMO_NOW)
        stores.append(store)
    store_a, store_b = stores
    queue_events(store_a, 200, "door-a")
    start_agent(store_a, venue_broker, "door-a", keys, ack_timeout=1.5, password="pw-door-a")
    b = start_agent(store_b, venue_broker, "door-b", keys, ack_timeout=1.5, password="pw-door-b")
    wait_until(lambda: pending(store_a) == 0, what="the drain across the bridge")

    central_broker.kill()  # the venue's internet link is down
    wait_until(lambda: b.agent.subscribed, what="door B subscribed")
    code = next(c for c, v in venue.expected if v == "valid")
    clock = iter(DEMO_NOW + timedelta(seconds=i) for i in range(100))
    first = scanning_service(store_a, "door-a", clock=lambda: next(clock)).scan(code, "main")
    assert first.verdict.code.value == "valid"

    def learned() -> bool:
        with store_b.read() as conn:
            return (
                conn.execute(select(t.checkins).where(t.checkins.c.scan_id == peer_id(first.scan_id))).first()
                is not None
            )

    wait_until(learned, timeout=2.0, what="door B to learn A's admission on the venue broker")
    time.sleep(2.0)
    assert pending(store_a) == 1, "central is unreachable: the admission must wait in A's outbox"

    central_broker.start()
    wait_until(lambda: pending(store_a) == 0, timeout=30, what="the drain after the link returned")
    assert_exactly_once(store_a, open_central_db(central_db))
