"""Doors fill the gaps in each other's admissions: a door connecting for the very first time gets everything
published before it (the retained cursor tells it what to ask for), and a door missing numbers in the middle
asks the other door for them again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from kiosk.adapters.store import peer_tables as pt
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.domain.outbox import EventKind
from kiosk.domain.peer_admissions import peer_id
from tests.sync.conftest import open_device_store, queue_events, wait_until
from tests.sync.door_keys import trust_test_doors

pytestmark = pytest.mark.broker


def checkin_ids(store: Store) -> set[str]:
    """The peer ids of this door's own check-ins (what the other doors must hold)."""
    with store.read() as conn:
        q = select(t.outbox.c.event_id).where(t.outbox.c.kind == EventKind.CHECKIN)
        return {peer_id(e) for e in conn.execute(q).scalars()}


def held_from(store: Store, device: str) -> set[str]:
    with store.read() as conn:
        q = select(t.checkins.c.scan_id).where(t.checkins.c.device_id == device, t.checkins.c.source == "peer")
        return set(conn.execute(q).scalars())


def door(tmp_path: Path, name: str) -> Store:
    store = open_device_store(tmp_path / f"{name}.sqlite")
    trust_test_doors(store)
    return store


def test_a_door_connecting_for_the_first_time_gets_what_was_published_before(
    mosquitto, keys, start_agent, tmp_path: Path
) -> None:
    store_a, store_b = door(tmp_path, "a"), door(tmp_path, "b")
    a = start_agent(store_a, mosquitto, "door-a", keys)
    wait_until(lambda: a.agent.subscribed, what="door A subscribed")
    queue_events(store_a, 40, "door-a")
    expected = checkin_ids(store_a)
    wait_until(lambda: a.agent.counters.peer_published == len(expected), what="door A shared its admissions")
    # Door B has never been connected: no broker session queued A's admissions for it.
    start_agent(store_b, mosquitto, "door-b", keys)
    wait_until(lambda: held_from(store_b, "door-a") == expected, timeout=15, what="door B to hold A's admissions")


def test_a_door_missing_numbers_asks_for_them_again(mosquitto, keys, start_agent, tmp_path: Path) -> None:
    store_a, store_b = door(tmp_path, "a"), door(tmp_path, "b")
    a = start_agent(store_a, mosquitto, "door-a", keys, peer_cursor_interval=0.5)
    b = start_agent(store_b, mosquitto, "door-b", keys)
    wait_until(lambda: a.agent.subscribed and b.agent.subscribed, what="both subscribed")
    queue_events(store_a, 20, "door-a")
    expected = checkin_ids(store_a)
    wait_until(lambda: held_from(store_b, "door-a") == expected, what="door B to hold A's admissions")
    b.stop()
    # What a broker crash in its save window does: some of A's admissions never reached B.
    numbers = [2, 3, 9, 10, 11]
    with store_a.read() as conn:
        bodies = conn.execute(select(pt.peer_log.c.body).where(pt.peer_log.c.pseq.in_(numbers))).scalars()
        lost = [json.loads(b)["scan_id"] for b in bodies]
    assert len(lost) == len(numbers)
    with store_b.write() as conn:
        conn.execute(delete(t.checkins).where(t.checkins.c.scan_id.in_(lost)))
        conn.execute(delete(pt.peer_seen).where(pt.peer_seen.c.pseq.in_(numbers)))
    held = held_from(store_b, "door-a")
    assert held != expected
    start_agent(store_b, mosquitto, "door-b", keys)
    wait_until(lambda: held_from(store_b, "door-a") == expected, timeout=15, what="door B to fill the gap")
