"""Hostile payloads at every topic handler of the agent and of central, in-process on real SQLite files: random
bytes, deep nesting, huge numbers, NaN, wrong types, unicode junk, and valid-looking messages (signed, unsigned,
forged) with one field mutated. Nothing escapes the MQTT callback, nothing fails unexpectedly (`error`), every
rejected message is counted and leaves the store as it was."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from kiosk.adapters.store.engine import Store
from kiosk.demo.venue import build_demo_venue
from kiosk.domain.clock import fixed_clock
from kiosk.domain.timeutil import iso
from sync_agent import safe_json
from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.central.ingest import open_central_db
from sync_agent.central.service import CentralService
from sync_agent.documents import catalog_to_doc, ticket_to_doc
from sync_agent.mqtt import BrokerSettings
from sync_agent.signing import Signer
from sync_agent.status import inbound_counts
from sync_agent.topics import DeviceTopics
from tests.sync.conftest import VENUE, open_device_store
from tests.sync.door_keys import device_keys_section, door_key
from tests.sync.event_samples import every_kind

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
DEV = DeviceTopics(VENUE, "door-a")
V = DEV.venue_topics
PEER = DeviceTopics(VENUE, "door-b").admission
NOWHERE = BrokerSettings("127.0.0.1", 9)  # never connected: the handlers are called as paho would call them
FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Outcomes of a message that was taken (it may change the store); any other outcome is a rejection.
TAKEN = {"applied", "ignored_old", "duplicate", "own", "cursor", "served", "not_mine"}

_venue = build_demo_venue(AT, 3, seed=1)
_ticket = ticket_to_doc(_venue.tickets[0])
_adm = {"v": 1, "scan_id": "p-1", "ticket_id": 5, "movement": "entry", "device_id": "door-b", "gate": "main",
        "scanned_at": iso(AT)}  # fmt: skip
AGENT_BODIES: dict[str, dict[str, Any]] = {
    DEV.ack: {"v": 1, "type": "ack", "device_id": "door-a", "batch_id": "b1", "acked": ["e1"],
              "rejected": [{"event_id": "e2", "reason": "schema"}], "at": iso(AT)},
    DEV.cmd: {"v": 1, "type": "command", "command_id": "c1", "device_id": "door-a", "name": "ping", "args": {},
              "issued_at": iso(AT)},
    V.catalog: {"v": 1, "type": "catalog", "version": 5,
                "catalog": {**catalog_to_doc(_venue.catalog), "device_keys": device_keys_section()}},
    V.tickets_snapshot: {"v": 1, "type": "tickets_snapshot", "snapshot_id": 1, "seq": 0, "tickets": [_ticket]},
    V.tickets_delta: {"v": 1, "type": "tickets_delta", "snapshot_id": 1, "seq": 1, "upserts": [_ticket],
                      "removed": [3]},
    V.revocations: {"v": 1, "type": "revocations", "version": 3,
                    "revocations": [{"ticket_id": 1, "reason": "lost", "revoked_at": iso(AT)}]},
    V.admissions: {"v": 1, "type": "admissions", "admissions": [_adm]},
    PEER: {"v": 1, "type": "peer_admissions", "device_id": "door-b", "top": 2, "admissions": [{**_adm, "pseq": 1}]},
    DEV.admission: {"v": 1, "type": "peer_admissions", "device_id": "door-a", "top": 1, "admissions": []},
}  # fmt: skip
PEER_REQUEST = {"v": 1, "type": "peer_request", "device_id": "door-b", "source": "door-a", "ranges": [[1, 3]]}
CENTRAL_BODIES: dict[str, dict[str, Any]] = {
    DEV.tx: {"v": 1, "batch_id": "b1", "device_id": "door-a", "sent_at": iso(AT), "events": [
        {"seq": i + 1, "event_id": e.event_id, "kind": str(e.kind), "occurred_at": iso(e.occurred_at),
         "payload": e.payload} for i, e in enumerate(every_kind("door-a"))]},
    DEV.resync: {"v": 1, "device_id": "door-a", "reason": "gap", "snapshot_id": 1, "seq": 3},
}  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\ud800", "x\udfff", "\x00", "\u202e", "2099-01-01T00:00:00Z", "", "a" * 300, '\\"[{', "\\"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
raw_junk = st.one_of(
    st.binary(max_size=200),
    st.integers(65, 60_000).map(lambda n: b"[" * n),
    st.integers(65, 20_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(65, 5_000).map(lambda n: b'{"kid":"k","sig":"s","body":{"v":1,"x":' + b"[" * n + b"]" * n + b"}}"),
    st.sampled_from([b"NaN", b"[Infinity]", b'{"v":1e999}', b'{"v":-Infinity}', b"1" * 5000, b'"\\ud800"',
                     b'{"v":1,"x":"\\udc00"}', b"\xef\xbb\xbf{}", b"", b"null", b"[]", b"{}", b'"', b"\xff\xfe{\x00}"]),
    json_values.map(lambda v: json.dumps(v).encode()),
)  # fmt: skip


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*at, i))
    return found


def _mutated(body: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    copy = dict(body) if isinstance(body, dict) else list(body)
    head, rest = path[0], path[1:]
    if delete and not rest and isinstance(copy, dict):
        del copy[head]
    else:
        copy[head] = _mutated(copy[head], rest, value, delete)  # type: ignore[index]
    return copy


@st.composite
def hostile(draw: st.DrawFn, bodies: dict[str, dict[str, Any]], signers: dict[str, Signer]) -> tuple[str, bytes]:
    """A topic and what arrives on it: junk, or one of its valid-looking messages with a field mutated."""
    topic = draw(st.sampled_from(sorted(bodies)))
    if draw(st.integers(0, 2)) == 0:
        return topic, draw(raw_junk)
    body = PEER_REQUEST if topic == PEER and draw(st.booleans()) else bodies[topic]
    path = draw(st.sampled_from(_paths(body)))
    body = _mutated(body, path, draw(json_values), draw(st.booleans()))
    wrap = draw(st.sampled_from(["signed", "signed", "plain", "forged"]))
    signer = signers.get(topic) if wrap == "signed" else Signer(door_key("door-x")) if wrap == "forged" else None
    if signer is not None and isinstance(body, dict):
        with contextlib.suppress(UnicodeEncodeError):  # a lone surrogate has no UTF-8: unsigned, it goes as is
            body = signer.envelope(body)
    # Not escaped, a lone surrogate goes out as the bytes of its code point (invalid UTF-8), as a broken sender would.
    return topic, json.dumps(body, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def message(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload = payload
    return msg


def digest(conn: Any, skip: set[str]) -> str:
    """A fingerprint of every table's rows but `skip`."""
    h = hashlib.sha256()
    names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").scalars()
    for name in [n for n in names if n not in skip]:
        rows = conn.exec_driver_sql(f'SELECT * FROM "{name}"').all()
        h.update(name.encode() + repr(sorted(map(repr, rows))).encode())
    return h.hexdigest()


def _store_state(store: Store) -> tuple[str, Counter[tuple[str, str]]]:
    with store.read() as conn:
        return digest(conn, {"sync_inbound_counters"}), Counter(inbound_counts(conn))


def test_the_agent_survives_and_counts_whatever_arrives(tmp_path_factory, keys) -> None:  # type: ignore[no-untyped-def]
    store = open_device_store(tmp_path_factory.mktemp("fuzz-agent") / "dev.sqlite")
    agent = SyncAgent(
        store, AgentSettings(VENUE, "door-a", NOWHERE), keys.verifier(), clock=fixed_clock(AT),
        device_key=door_key("door-a"),
    )  # fmt: skip
    central = {t: keys.signer for t in AGENT_BODIES}
    central[PEER], central[DEV.admission] = Signer(door_key("door-b")), Signer(door_key("door-a"))

    @FUZZ
    @given(hostile(AGENT_BODIES, central))
    def receive(case: tuple[str, bytes]) -> None:
        topic, payload = case
        before, counted = _store_state(store)
        agent._on_message(agent.client, None, message(topic, payload))  # raises nothing, or the test fails
        after, now_counted = _store_state(store)
        new = now_counted - counted
        # Counted once; only an ack that was taken is not counted (its events are marked instead).
        assert sum(new.values()) == 1 or (topic == DEV.ack and not new), (topic, new)
        assert agent.appliers.waiting == 0  # handled now, not left behind
        ((kind, outcome),) = new.keys() if new else (("ack", "applied"),)
        assert outcome != "error", (topic, payload[:300])
        if outcome not in TAKEN:
            assert after == before, f"a rejected message ({kind}: {outcome}) changed the store"

    receive()


def _central_state(engine: Engine) -> tuple[str, int]:
    with engine.connect() as conn:
        rejections = conn.exec_driver_sql("SELECT count(*) FROM central_rejections").scalar_one()
        return digest(conn, {"central_rejections"}), int(rejections)


def test_central_survives_and_counts_whatever_arrives(tmp_path_factory, keys) -> None:  # type: ignore[no-untyped-def]
    engine = open_central_db(str(tmp_path_factory.mktemp("fuzz-central") / "central.sqlite"))
    svc = CentralService(engine, NOWHERE, keys.signer, clock=fixed_clock(AT))

    @FUZZ
    @given(hostile(CENTRAL_BODIES, {}))
    def receive(case: tuple[str, bytes]) -> None:
        topic, payload = case
        before, journal = _central_state(engine)
        bad, processed = Counter(svc.bad_messages), svc.batches_processed
        svc._on_message(svc.client, None, message(topic, payload))
        after, now_journal = _central_state(engine)
        new = Counter(svc.bad_messages) - bad
        if topic == DEV.tx:  # a batch is committed (and acked), or refused and counted
            assert (svc.batches_processed == processed + 1) != bool(new), (new, payload[:300])
        assert not [k for k in new if k.endswith(":error")], (topic, payload[:300])
        assert not svc.busy.held()
        if new:  # refused whole: counted once, journaled once, nothing else written
            assert sum(new.values()) == 1 and now_journal == journal + 1, new
            assert after == before, f"a refused message ({new}) changed central's database"

    receive()


def _depth(value: Any) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max(map(_depth, children), default=0)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_the_nesting_scan_counts_what_the_parser_would(value: Any, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    depth = _depth(value)
    assert not safe_json.deeper_than(raw, depth)
    assert depth == 0 or safe_json.deeper_than(raw, depth - 1)
