"""Central's checks: malformed events of every kind, unknown kinds and unreadable outbox rows come back rejected
with a reason and land in the device's dead letters, while the device's well-formed events of every kind are
stored; malformed batches on the tx topic are counted, not fatal."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select, update

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.domain.outbox import OutboxEvent
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db, stats
from tests.sync import event_samples as samples
from tests.sync.conftest import VENUE, open_device_store, pending, queue_events, wait_until

pytestmark = pytest.mark.broker
AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def scan_payload(eid: str, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "v": 1,
        "scan_id": eid,
        "device_id": "door-a",
        "gate": "main",
        "verdict": "valid",
        "ticket_id": 7,
        "performance_id": 12,
        "movement": "entry",
        "scanned_at": "2026-11-28T18:00:00.000000Z",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_bad_events_are_dead_lettered_with_reasons_and_every_good_kind_stored(
    mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    good = queue_events(store, 20, "door-a")
    built = samples.every_kind("door-a")
    bad: dict[str, tuple[str, dict[str, object], str]] = {}
    for kind, over, reason in (
        ("checkin", {"v": 2}, "unsupported_version"),
        ("checkin", {"device_id": "door-b"}, "device_mismatch"),
        ("checkin", {"movement": "teleport"}, "malformed:movement"),
        ("checkin", {"ticket_id": "seven"}, "malformed:ticket_id"),
        ("checkin", {"scanned_at": "yesterday"}, "malformed:scanned_at"),
        ("failed_scan", {"gate": None}, "malformed:gate"),
        ("checkin", {"scan_id": "someone-else"}, "malformed:scan_id"),
        ("checkin", {"entries_allowed": 0}, "malformed:entries_allowed"),
        ("checkin", {"entries_allowed": "2"}, "malformed:entries_allowed"),
        ("checkin", {"entries_allowed": True}, "malformed:entries_allowed"),
        ("checkin", {"holder_name": "Ada"}, "unknown_field"),
        ("voucher", {}, "unknown_kind"),
    ):
        eid = str(uuid.uuid4())
        bad[eid] = (kind, scan_payload(eid, **over), reason)
    for event, over, reason in (
        (samples.failed_scan(), {"text_prefix": "x" * 500}, "malformed:text_prefix"),
        (samples.sale(), {"payment": {"method": "cash", "total": 45.0}}, "malformed:payment"),
        (samples.sale(), {"order_id": "not-this-order"}, "malformed:order_id"),
        (samples.reprint(), {"copy": "2"}, "malformed:copy"),
        (samples.reprint(), {"printer_dump": "x" * 1000}, "unknown_field"),
    ):
        bad[event.event_id] = (event.kind, {**event.payload, **over}, reason)
    unreadable = str(uuid.uuid4())
    bad[unreadable] = ("checkin", scan_payload(unreadable), "malformed:payload")
    with store.write() as conn:
        out = SqlOutboxStore()
        for eid, (kind, payload, _) in bad.items():
            out.append(conn, OutboxEvent(eid, kind, AT, payload))
        for event in built:
            out.append(conn, event)
        # A row damaged on disk: it must not hold back the events queued after it.
        conn.execute(update(t.outbox).where(t.outbox.c.event_id == unreadable).values(payload='{"v": 1, "scan'))
    after = queue_events(store, 5, "door-a", start_ticket=2_000_000)
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    start_agent(store, mosquitto, "door-a", keys, ack_timeout=2.0)
    wait_until(lambda: pending(store) == 0, what="drain")
    with store.read() as conn:
        dead = {r.event_id: r.reason for r in conn.execute(select(t.dead_letters))}
    assert dead == {eid: reason for eid, (_, _, reason) in bad.items()}
    engine = open_central_db(central_db)
    with engine.connect() as conn:
        stored = set(conn.execute(select(ct.events.c.event_id)).scalars())
        st = stats(conn)
    assert stored == {*good, *after, *(e.event_id for e in built)}
    assert st["by_kind"]["sale"] == 1 and st["by_kind"]["reprint"] == 1
    assert sum(st["rejected"].values()) == len(bad)


def test_malformed_batches_on_the_tx_topic_are_counted_and_central_keeps_going(
    mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    central_db = str(tmp_path / "central.sqlite")
    svc = start_central(central_db, mosquitto, keys)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="door-x", protocol=mqtt.MQTTv5)
    c.connect(mosquitto.host, mosquitto.port)
    c.loop_start()
    tx = f"kiosk/v1/{VENUE}/door-x/tx"
    ev = {"seq": 1, "event_id": "e1", "kind": "sale", "occurred_at": "2026-11-28T18:00:00Z", "payload": {"v": 1}}
    for payload in (
        b"{oops",
        b"\x00\x01\x02",
        json.dumps({"v": 9, "batch_id": "b", "device_id": "door-x", "events": [ev]}).encode(),
        json.dumps({"v": 1, "batch_id": "b", "device_id": "door-y", "events": [ev]}).encode(),
        json.dumps({"v": 1, "batch_id": "b", "device_id": "door-x", "events": []}).encode(),
        json.dumps({"v": 1, "batch_id": "b", "device_id": "door-x", "events": [{**ev, "kind": "DROP TABLE"}]}).encode(),
        json.dumps({"v": 1, "batch_id": "b", "device_id": "door-x", "events": [{**ev, "seq": 0}]}).encode(),
    ):
        c.publish(tx, payload, qos=1).wait_for_publish(5)
    c.publish(f"kiosk/v1/{VENUE}/door-x/resync", b"not json", qos=1).wait_for_publish(5)
    wait_until(lambda: sum(svc.bad_messages.values()) == 8, what="central to count the bad messages")
    c.disconnect()
    c.loop_stop()
    assert svc.bad_messages["tx:malformed_json"] == 2
    assert svc.bad_messages["tx:unsupported_version"] == 1
    assert svc.bad_messages["tx:device_mismatch"] == 1
    assert svc.bad_messages["tx:schema"] == 3
    assert svc.bad_messages["resync:malformed_json"] == 1
    # Still working: a real device drains through the same central.
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 30, "door-a")
    start_agent(store, mosquitto, "door-a", keys)
    wait_until(lambda: pending(store) == 0, what="drain after the junk")
    with open_central_db(central_db).connect() as conn:
        assert stats(conn)["rejected"]["tx:schema"] == 3
