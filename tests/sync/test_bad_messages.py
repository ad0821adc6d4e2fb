"""Bad messages of every kind on every topic the agent subscribes to: rejected, counted, logged, never applied,
never a crash. Good messages sent after them still apply (the agent is alive and its state is right)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlCatalogStore
from kiosk.demo.venue import DemoVenue
from kiosk.domain.timeutil import iso
from sync_agent.documents import catalog_to_doc, ticket_to_doc
from sync_agent.signing import Signer
from sync_agent.status import inbound_counts
from sync_agent.topics import DeviceTopics
from tests.fixtures.clocks import running_clock
from tests.sync.conftest import VENUE, wait_until
from tests.sync.door_keys import door_key

pytestmark = pytest.mark.broker
DEV = DeviceTopics(VENUE, "door-a")
V = DEV.venue_topics


class Publisher:
    def __init__(self, broker: Any) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="evil", protocol=mqtt.MQTTv5)
        self.client.on_message = lambda _c, _u, msg: self.received.append((msg.topic, msg.payload))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.client.subscribe(DEV.resync, qos=1)

    def send(self, topic: str, payload: bytes | dict[str, Any]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def evil(mosquitto: Any) -> Iterator[Publisher]:
    p = Publisher(mosquitto)
    yield p
    p.close()


def total(store: Store) -> int:
    with store.read() as conn:
        return sum(inbound_counts(conn).values())


def counts(store: Store) -> dict[tuple[str, str], int]:
    with store.read() as conn:
        return inbound_counts(conn)


def test_every_bad_message_is_rejected_counted_and_never_applied(
    demo_venue: tuple[Store, DemoVenue],
    demo_now: datetime,
    mosquitto,
    keys,
    start_agent,
    evil: Publisher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="kiosk.sync")
    store, venue = demo_venue
    signer = keys.signer
    forger = Signer(Ed25519PrivateKey.generate())
    # the agent's clock starts at the demo venue's evening, not today
    a = start_agent(store, mosquitto, "door-a", keys, clock=running_clock(demo_now), ack_timeout=2.0)
    wait_until(lambda: a.agent.subscribed, what="agent subscribed")

    doc = catalog_to_doc(venue.catalog)
    doc["version"] = "central-7"
    good_catalog = {"v": 1, "type": "catalog", "version": 7, "catalog": doc}
    tickets = [ticket_to_doc(tk) for tk in venue.tickets[:5]]
    snapshot = {"v": 1, "type": "tickets_snapshot", "snapshot_id": 1, "seq": 0, "tickets": tickets}

    def tampered(body: dict[str, Any]) -> dict[str, Any]:
        env = signer.envelope(body)
        env["body"] = {**body, "version": 99} if "version" in body else {**body, "seq": 42}
        return env

    bad: list[tuple[str, bytes | dict[str, Any], str, str]] = []
    for topic, kind, body in (
        (V.catalog, "catalog", good_catalog),
        (V.tickets_snapshot, "tickets_snapshot", snapshot),
        (V.tickets_delta, "tickets_delta", {"v": 1, "type": "tickets_delta", "snapshot_id": 1, "seq": 1}),
        (V.revocations, "revocations", {"v": 1, "type": "revocations", "version": 5, "revocations": []}),
        (V.admissions, "central_admissions", {"v": 1, "type": "admissions", "admissions": []}),
        (DEV.cmd, "command", {"v": 1, "type": "command", "command_id": "c1", "device_id": "door-a", "name": "ping",
                              "issued_at": "2099-01-01T00:00:00Z"}),
        (DEV.ack, "ack", {"v": 1, "type": "ack", "device_id": "door-a", "batch_id": "x", "acked": []}),
    ):  # fmt: skip
        bad += [
            (topic, body, kind, "unsigned"),
            (topic, forger.envelope(body), kind, "unknown_key"),
            (topic, tampered(body), kind, "bad_signature"),
            (topic, b"{not json", kind, "malformed_json"),
            (topic, b"\xff\xfe\x00binary", kind, "malformed_json"),
            (topic, signer.envelope({**body, "v": 2}), kind, "unsupported_version"),
            (topic, signer.envelope({**body, "type": "other"}), kind, "schema"),
        ]
    peer_topic = DeviceTopics(VENUE, "door-b").admission
    door_b = Signer(door_key("door-b"))  # the key the catalog lists for door-b (trusted by the agent's store)
    adm = {"v": 1, "scan_id": "s1", "ticket_id": 5, "movement": "entry", "device_id": "door-b", "gate": "main",
           "scanned_at": "2026-11-28T18:00:00Z", "pseq": 1}  # fmt: skip
    peer = {"v": 1, "type": "peer_admissions", "device_id": "door-b", "top": 1, "admissions": [adm]}
    forged = {**door_b.envelope(peer), "body": {**peer, "admissions": [{**adm, "ticket_id": 6}]}}
    bad += [
        (peer_topic, b"[1,2", "peer_admission", "malformed_json"),
        (peer_topic, peer, "peer_admission", "unsigned"),
        (peer_topic, Signer(door_key("door-c")).envelope(peer), "peer_admission", "unknown_key"),
        (peer_topic, forged, "peer_admission", "bad_signature"),
        (
            DeviceTopics(VENUE, "door-x").admission,
            Signer(door_key("door-x")).envelope(peer),
            "peer_admission",
            "unknown_device",
        ),
        (peer_topic, door_b.envelope({**peer, "v": 3}), "peer_admission", "unsupported_version"),
        (peer_topic, door_b.envelope({**peer, "device_id": "door-c"}), "peer_admission", "device_mismatch"),
        (
            peer_topic,
            door_b.envelope({**peer, "admissions": [{**adm, "device_id": "door-c"}]}),
            "peer_admission",
            "device_mismatch",
        ),
        (peer_topic, door_b.envelope({**peer, "admissions": [{**adm, "ticket_id": "x"}]}), "peer_admission", "schema"),
        (
            peer_topic,
            door_b.envelope({**peer, "admissions": [{**adm, "scanned_at": "yesterday-ish"}]}),
            "peer_admission",
            "schema",
        ),
        (
            DEV.cmd,
            signer.envelope(
                {
                    "v": 1,
                    "type": "command",
                    "command_id": "c2",
                    "device_id": "door-z",
                    "name": "ping",
                    "issued_at": "2026-11-28T18:00:00Z",
                }
            ),
            "command",
            "wrong_device",
        ),
        (
            DEV.cmd,
            signer.envelope(
                {
                    "v": 1,
                    "type": "command",
                    "command_id": "c3",
                    "device_id": "door-a",
                    "name": "ping",
                    "issued_at": "2020-01-01T00:00:00Z",
                }
            ),
            "command",
            "expired",
        ),
        (
            DEV.cmd,
            signer.envelope(
                {
                    "v": 1,
                    "type": "command",
                    "command_id": "c4",
                    "device_id": "door-a",
                    "name": "self_destruct",
                    "issued_at": "2026-11-28T18:00:00Z",  # inside the window (2099: future_command)
                }
            ),
            "command",
            "unknown_command",
        ),
        (
            V.revocations,
            signer.envelope(
                {
                    "v": 1,
                    "type": "revocations",
                    "version": 9,
                    "revocations": [{"ticket_id": 1, "revoked_at": "not a time"}],
                }
            ),
            "revocations",
            "schema",
        ),
    ]
    catalog_before = venue.catalog.version
    for topic, payload, _kind, _reason in bad:
        evil.send(topic, payload)
    wait_until(lambda: total(store) >= len(bad), what="every bad message counted")
    got = counts(store)
    for _topic, _payload, kind, reason in bad:
        assert got.get((kind, reason), 0) >= 1, f"{kind}/{reason} not counted: {got}"
    assert not any(outcome == "applied" for (_k, outcome) in got), got
    logged = caplog.text
    for kind, reason in {(k, r) for _t, _p, k, r in bad}:
        assert f"rejected {kind} message" in logged or f"rejected an {kind}" in logged, (kind, reason)
        assert reason in logged
    assert a.thread.is_alive()
    with store.read() as conn:
        assert SqlCatalogStore().version(conn) == catalog_before
        assert conn.execute(select(t.checkins).where(t.checkins.c.scan_id == "s1")).first() is None

    # The same agent still applies good messages, and ignores stale or gapped ones.
    evil.send(V.catalog, signer.envelope(good_catalog))
    evil.send(V.catalog, signer.envelope({**good_catalog, "version": 6}))
    evil.send(V.tickets_snapshot, signer.envelope(snapshot))
    upsert = {**tickets[0], "holder_name": None, "status": "cancelled"}
    delta1 = {"v": 1, "type": "tickets_delta", "snapshot_id": 1, "seq": 1, "upserts": [upsert]}
    evil.send(V.tickets_delta, signer.envelope(delta1))
    evil.send(V.tickets_delta, signer.envelope(delta1))  # duplicate
    evil.send(V.tickets_delta, signer.envelope({**delta1, "seq": 3}))  # gap: 2 is missing
    ping = {"v": 1, "type": "command", "command_id": "ok-1", "device_id": "door-a", "name": "ping",
            "issued_at": iso(demo_now)}  # fmt: skip
    evil.send(DEV.cmd, signer.envelope(ping))
    evil.send(DEV.cmd, signer.envelope(ping))  # replayed: applied once
    wait_until(lambda: counts(store).get(("tickets_delta", "gap"), 0) == 1, what="the gap to be detected")
    wait_until(lambda: any(tp == DEV.resync for tp, _ in evil.received), timeout=10, what="a resync request")
    resync = json.loads(next(p for tp, p in evil.received if tp == DEV.resync))
    assert resync["reason"] == "gap" and resync["snapshot_id"] == 1 and resync["seq"] == 1
    wait_until(lambda: counts(store).get(("command", "duplicate"), 0) == 1, what="the replayed command")
    got = counts(store)
    assert got[("catalog", "applied")] == 1 and got[("catalog", "ignored_old")] == 1
    assert got[("tickets_snapshot", "applied")] == 1
    assert got[("command", "applied")] == 1 and got[("command", "duplicate")] == 1
    assert got[("tickets_delta", "applied")] == 1 and got[("tickets_delta", "ignored_old")] == 1
    with store.read() as conn:
        assert SqlCatalogStore().version(conn) == "central-7"
        row = conn.execute(select(t.tickets).where(t.tickets.c.ticket_id == tickets[0]["ticket_id"])).one()
        assert row.status == "cancelled" and row.source == "list"
        # The snapshot replaced the list: tickets that came from the demo install (source 'demo') stay.
    assert a.thread.is_alive()
