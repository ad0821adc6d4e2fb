"""Peer admissions are signed by the sending door's device key (listed in the catalog): a forged, unsigned or
unknown door's admission is counted and ignored (door A still admits the ticket), a door's own signed one makes
`already_used`; peers and central's re-publication never carry the event id central dedupes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from kiosk.adapters.store import peer_tables as pt
from kiosk.adapters.store import tables as t
from kiosk.domain.peer_admissions import missing_ranges, peer_id
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.central.publish import admissions_message
from sync_agent.signing import Signer
from sync_agent.topics import DeviceTopics
from tests.conftest import DEMO_NOW
from tests.sync.conftest import VENUE, wait_until
from tests.sync.door_keys import door_key, door_public_hex
from tests.sync.test_peers_incidents import inbound, scanner, two_doors, valid_codes

pytestmark = pytest.mark.broker


def admission(ticket: tuple[int, int | None], device: str = "door-b", pseq: int = 1) -> dict[str, Any]:
    ticket_id, performance_id = ticket
    return {"v": 1, "scan_id": f"forged-{ticket_id}", "ticket_id": ticket_id, "performance_id": performance_id,
            "movement": "entry", "device_id": device, "gate": "main", "scanned_at": iso(DEMO_NOW),
            "pseq": pseq}  # fmt: skip


def body(ticket: tuple[int, int | None], device: str = "door-b") -> dict[str, Any]:
    return {"v": 1, "type": "peer_admissions", "device_id": device, "top": 1, "admissions": [admission(ticket)]}


def send(broker: Any, topic: str, payload: dict[str, Any]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic, json.dumps(payload).encode(), qos=1).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_forged_peer_admissions_are_counted_and_ignored(mosquitto, keys, start_agent, tmp_path: Path) -> None:
    store_a, _store_b, venue = two_doors(tmp_path)
    a = start_agent(store_a, mosquitto, "door-a", keys)
    wait_until(lambda: a.agent.subscribed, what="door A subscribed")
    codes = valid_codes(venue)
    tickets = []
    for code in codes[:4]:
        with store_a.read() as conn:
            row = conn.execute(select(t.tickets).where(t.tickets.c.code == code)).one()
            tickets.append((row.ticket_id, row.performance_id))
    topic_b = DeviceTopics(VENUE, "door-b").admission
    signed = Signer(door_key("door-b")).envelope(body(tickets[1]))
    send(mosquitto, topic_b, body(tickets[0]))  # unsigned
    send(mosquitto, topic_b, Signer(Ed25519PrivateKey.generate()).envelope(body(tickets[1])))  # another key
    send(mosquitto, topic_b, {**signed, "body": body(tickets[2])})  # door B's signature over another body
    send(mosquitto, DeviceTopics(VENUE, "door-x").admission, Signer(door_key("door-x")).envelope(body(tickets[0])))
    for reason in ("unsigned", "unknown_key", "bad_signature", "unknown_device"):
        wait_until(lambda: inbound(store_a, "peer_admission", reason) == 1, what=f"{reason} counted")  # noqa: B023
    with store_a.read() as conn:
        assert conn.execute(select(t.checkins)).all() == []
    scan = scanner(store_a, "door-a")
    for code in codes[:3]:  # nobody scanned them: door A admits them
        assert scan.scan(code, "main").verdict.code.value == "valid"
    # The same test can fail: a message door B really signed does make the ticket used at door A.
    send(mosquitto, topic_b, Signer(door_key("door-b")).envelope(body(tickets[3])))
    wait_until(lambda: inbound(store_a, "peer_admission", "applied") == 1, what="door B's signed admission")
    assert scan.scan(codes[3], "main").verdict.code.value == "already_used"


def test_catalog_lists_the_doors_keys(mosquitto, keys, start_agent, tmp_path: Path) -> None:
    from sync_agent.documents import catalog_to_doc

    store_a, _b, venue = two_doors(tmp_path)
    a = start_agent(store_a, mosquitto, "door-a", keys)
    wait_until(lambda: a.agent.subscribed, what="door A subscribed")
    doc = {
        **catalog_to_doc(venue.catalog),
        "device_keys": [{"device_id": "door-z", "public_key": door_public_hex("door-z")}],
    }
    msg = {"v": 1, "type": "catalog", "version": 3, "catalog": doc}
    send(mosquitto, DeviceTopics(VENUE, "door-a").venue_topics.catalog, keys.signer.envelope(msg))
    wait_until(lambda: inbound(store_a, "catalog", "applied") == 1, what="catalog applied")
    with store_a.read() as conn:
        assert {r.device_id: r.public_key for r in conn.execute(select(pt.peer_keys))} == {
            "door-z": door_public_hex("door-z")
        }
    # door-a's store trusts only door-z now: door B's signed admission is from an unknown device
    send(mosquitto, DeviceTopics(VENUE, "door-b").admission, Signer(door_key("door-b")).envelope(body((1, None))))
    wait_until(lambda: inbound(store_a, "peer_admission", "unknown_device") == 1, what="door B unknown now")


def test_central_republishes_admissions_under_peer_ids(keys) -> None:
    adm = m.PeerAdmission(**{k: v for k, v in admission((5, None)).items() if k != "pseq"})
    topic, payload, retained = admissions_message(keys.signer, VENUE, [adm])
    sent = keys.verifier().open(json.loads(payload))
    assert topic.endswith("/admissions") and not retained
    assert [a["scan_id"] for a in sent["admissions"]] == [peer_id("forged-5")]
    assert "forged-5" not in payload.decode()


def test_missing_ranges() -> None:
    assert missing_ranges([], 0) == []
    assert missing_ranges([], 3) == [(1, 3)]
    assert missing_ranges([1, 2, 5, 9], 10) == [(3, 4), (6, 8), (10, 10)]
    assert missing_ranges([1, 2, 3], 3) == []
    assert missing_ranges([2, 4, 6, 8], 9, limit=2) == [(1, 1), (3, 3)]
    assert len(peer_id("x")) == 32 and peer_id("x") != peer_id("y")
