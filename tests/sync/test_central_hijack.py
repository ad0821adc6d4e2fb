"""The hijack of issue 11, end to end through real mosquitto with the shipped venue ACL and a real central: door B
sends door A's scan ids under its own id with made-up content while A's events are pending. Central keeps each id
with the device that first sent it and never acks another device's copy as "already known": A's real events are
stored as A's and acked to A, B's copies are rejected (`id_taken`) and listed; when B's copies reach central
first, A's events are refused into A's dead letters with the reason (never silently marked synced)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db, stats
from sync_agent.central.repeats import list_conflicts
from sync_agent.central.service import CentralService
from sync_agent.mqtt import BrokerSettings
from tests.fixtures.broker import MosquittoBroker
from tests.sync.conftest import VENUE, Keys, open_device_store, pending, queue_events, wait_until
from tests.sync.test_broker import Client, venue_broker

pytestmark = pytest.mark.broker
USERS = ("door-a", "door-b", "central")


@pytest.fixture
def secured(mosquitto_factory, tmp_path: Path) -> MosquittoBroker:
    return venue_broker(mosquitto_factory, tmp_path, USERS)  # the shipped ACL: B may read A's admission topic


class Door:
    """Door A's real agent, with its credentials."""

    def __init__(self, broker: MosquittoBroker, store: Store, keys: Keys, tmp_path: Path) -> None:
        pw = tmp_path / "door-a.pw"
        pw.write_text("pw-door-a")
        pw.chmod(0o600)
        settings = BrokerSettings.from_url(broker.url, username="door-a", password_file=pw)
        self.agent = SyncAgent(store, AgentSettings(VENUE, "door-a", settings, ack_timeout=1.0), keys.verifier())
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)


@pytest.fixture
def doors() -> Iterator[list[Door]]:
    made: list[Door] = []
    yield made
    for d in made:
        d.stop()


def start_central(broker: MosquittoBroker, db: str, keys: Keys) -> CentralService:
    settings = BrokerSettings(broker.host, broker.port, username="central", password="pw-central")
    svc = CentralService(open_central_db(db), settings, keys.signer, "central")
    svc.start()
    assert svc.connected.wait(10)
    return svc


def forged_batch(ids: list[str]) -> bytes:
    """B's batch: A's ids, B's device, a ticket A never scanned."""
    events = [
        {"seq": i + 1, "event_id": eid, "kind": "checkin", "occurred_at": "2026-11-28T18:30:00.000000Z",
         "payload": {"v": 1, "scan_id": eid, "device_id": "door-b", "gate": "side", "verdict": "valid",
                     "ticket_id": 4242, "performance_id": 12, "movement": "entry",
                     "scanned_at": "2026-11-28T18:30:00.000000Z"}}
        for i, eid in enumerate(ids)
    ]  # fmt: skip
    return json.dumps({"v": 1, "batch_id": uuid.uuid4().hex, "device_id": "door-b", "events": events}).encode()


def checkin_ids(store: Store) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(t.outbox.c.event_id).where(t.outbox.c.kind == "checkin")).scalars())


def acks(attacker: Client) -> list[dict[str, object]]:
    return [json.loads(payload)["body"] for _, payload in list(attacker.messages)]


def owners(engine: Engine, ids: list[str]) -> dict[str, tuple[str, int]]:
    e = ct.events.c
    with engine.connect() as conn:
        rows = conn.execute(select(e.event_id, e.device_id, e.payload).where(e.event_id.in_(ids)))
        return {r.event_id: (r.device_id, json.loads(r.payload)["ticket_id"]) for r in rows}


def test_door_b_replaying_door_as_pending_ids_gets_them_rejected_and_a_keeps_its_events(
    secured: MosquittoBroker, keys: Keys, doors: list[Door], tmp_path: Path
) -> None:
    store = open_device_store(tmp_path / "door-a.sqlite")
    queue_events(store, 6, "door-a", start_ticket=500)
    ids = checkin_ids(store)
    assert len(ids) == 5
    attacker = Client(secured, "door-b", "door-b")
    attacker.sub(f"kiosk/v1/{VENUE}/door-b/ack")
    doors.append(Door(secured, store, keys, tmp_path))  # central is down: A's events stay pending
    attacker.pub(f"kiosk/v1/{VENUE}/door-b/tx", forged_batch(ids))  # goes nowhere yet
    assert pending(store) == 6
    db = str(tmp_path / "central.sqlite")
    central = start_central(secured, db, keys)
    try:
        wait_until(lambda: pending(store) == 0, 30, "door A's events acked")
        attacker.pub(f"kiosk/v1/{VENUE}/door-b/tx", forged_batch(ids))  # B tries again, now central is up
        wait_until(lambda: len(attacker.messages) == 1, 10, "central's answer to door B")
    finally:
        central.stop()
    engine = open_central_db(db)
    assert owners(engine, ids) == {eid: ("door-a", 500 + i) for eid, i in zip(ids, (0, 1, 2, 4, 5), strict=True)}
    (answer,) = acks(attacker)
    assert answer["acked"] == [] and [r["reason"] for r in answer["rejected"]] == ["id_taken"] * 5  # type: ignore[union-attr,index]
    with store.read() as conn:
        assert conn.execute(select(t.dead_letters.c.event_id)).first() is None
    with engine.connect() as conn:
        assert {(c["event_id"], c["owner_device"], c["device_id"]) for c in list_conflicts(conn)} == {
            (eid, "door-a", "door-b") for eid in ids
        }
        assert stats(conn)["rejected"] == {"id_taken": 5}


def test_when_b_reaches_central_first_as_events_are_dead_lettered_never_acked_as_known(
    secured: MosquittoBroker, keys: Keys, doors: list[Door], tmp_path: Path
) -> None:
    store = open_device_store(tmp_path / "door-a.sqlite")
    queue_events(store, 6, "door-a", start_ticket=500)
    ids = checkin_ids(store)
    db = str(tmp_path / "central.sqlite")
    central = start_central(secured, db, keys)
    attacker = Client(secured, "door-b", "door-b")
    try:
        attacker.sub(f"kiosk/v1/{VENUE}/door-b/ack")
        attacker.pub(f"kiosk/v1/{VENUE}/door-b/tx", forged_batch(ids))
        wait_until(lambda: len(attacker.messages) == 1, 10, "central's answer to door B")
        doors.append(Door(secured, store, keys, tmp_path))
        wait_until(lambda: pending(store) == 0, 30, "door A's batch answered")
    finally:
        central.stop()
    with store.read() as conn:
        dead = dict(conn.execute(select(t.dead_letters.c.event_id, t.dead_letters.c.reason)).all())
    # In A's dead letters with the reason (its technician sees them, `kiosk-sync dead-letters list`), not acked.
    assert dead == {eid: "id_taken" for eid in ids}
    engine = open_central_db(db)
    with engine.connect() as conn:
        assert {(c["event_id"], c["owner_device"], c["device_id"]) for c in list_conflicts(conn)} == {
            (eid, "door-b", "door-a") for eid in ids
        }
