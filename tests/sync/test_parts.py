"""The agent's parts without a broker: a fake publisher, a real SQLite store, a stepping clock and monotonic time.

Each part goes on while another connection holds the write lock, keeps what it could not write, and writes it
once the lock is gone."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc

from kiosk.adapters.store.engine import Store, StoreError
from kiosk.adapters.store.sync_repository import BriefStore, get_state, read_status
from kiosk.domain.clock import SteppingClock
from sync_agent import messages as m
from sync_agent.appliers import InboundAppliers
from sync_agent.drain import OutboundDrain
from sync_agent.guard import StoreGuard
from sync_agent.inbound import InboundHandler
from sync_agent.mqtt import BrokerSettings
from sync_agent.presence import Presence
from sync_agent.prune import Pruner
from sync_agent.settings import AgentCounters, AgentSettings
from sync_agent.signing import Signer
from sync_agent.status import inbound_counts
from sync_agent.topics import DeviceTopics
from tests.sync.conftest import RecordingNotifier, open_device_store, pending, queue_events
from tests.sync.door_keys import door_key, trust_test_doors

NOW = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # the night Zurich's clocks jump: nothing here cares


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, int, bool]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.sent.append((topic, payload, qos, retain))

    def on(self, suffix: str) -> list[Any]:
        return [json.loads(p) for t, p, _, _ in self.sent if t.endswith(suffix)]


class Mono:
    """Monotonic time that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def write_lock(store: Store) -> Iterator[None]:
    """Another process's long write transaction (BEGIN IMMEDIATE, held until the block ends)."""
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[BriefStore]:
    base = open_device_store(tmp_path / "door.sqlite")
    trust_test_doors(base)
    yield BriefStore(base, 0.05)
    base.close()


SETTINGS = AgentSettings("lac", "door-a", BrokerSettings("127.0.0.1", 1), batch_size=100, window=2, ack_timeout=5)


def parts(store: Store, mono: Mono) -> tuple[StoreGuard, FakePublisher, OutboundDrain, SteppingClock]:
    clock = SteppingClock(NOW)
    guard = StoreGuard(clock, base=0.1, cap=1.0, monotonic=mono)
    pub = FakePublisher()
    drain = OutboundDrain(
        store, SETTINGS, pub, guard, AgentCounters(), clock, monotonic=mono, device_key=door_key("door-a")
    )
    return guard, pub, drain, clock


def ack_for(batch: dict[str, Any]) -> m.Ack:
    ids = [e["event_id"] for e in batch["events"]]
    rejected = [m.Rejection(event_id=ids[0], reason="malformed:gate")]
    return m.Ack(v=1, type="ack", batch_id=batch["batch_id"], device_id="door-a", acked=ids[1:], rejected=rejected)


def test_drain_fills_the_window_resends_on_timeout_and_marks_acked_events(store: BriefStore) -> None:
    queue_events(store, 250, "door-a")
    mono = Mono()
    _, pub, drain, _ = parts(store, mono)
    drain.pump(online=True)
    batches = pub.on("/tx")
    assert [len(b["events"]) for b in batches] == [100, 100] and drain.in_flight == 2  # the window is full
    assert [e["seq"] for e in batches[0]["events"]] == list(range(1, 101))
    drain.take_ack(ack_for(batches[0]))
    assert pending(store) == 150 and drain.counters.dead_letters == 1 and drain.last_ack_at == NOW
    drain.pump(online=True)
    assert [len(b["events"]) for b in pub.on("/tx")] == [100, 100, 50]
    mono.now += 6  # no ack for longer than ack_timeout: everything pending goes again, from the oldest
    drain.pump(online=True)
    again = pub.on("/tx")[3:]
    assert again[0]["events"][0]["seq"] == 101 and drain.counters.resends == 1
    assert len(pub.on("/admission")[0]["body"]["admissions"]) > 0  # check-ins shared (signed) with the other doors
    with store.read() as conn:
        assert int(get_state(conn, "peer_published_seq")) == 250


def test_acks_wait_for_a_busy_store_in_order_and_nothing_is_lost(store: BriefStore) -> None:
    queue_events(store, 200, "door-a")
    mono = Mono()
    guard, pub, drain, _ = parts(store, mono)
    drain.pump(online=True)
    first, second = pub.on("/tx")
    with write_lock(store):
        drain.take_ack(ack_for(first))
        drain.take_ack(ack_for(second))
        assert drain.acks_waiting == 2 and drain.in_flight == 0  # central has them: the window is open again
        assert guard.summary() == "store busy since 2027-03-28T01:30:00.000000Z"
        assert guard.health()["store"] == "busy"
        drain.pump(online=True)  # within the backoff: not even tried
        assert drain.acks_waiting == 2
        mono.now += 2
        drain.pump(online=True)  # tried, still locked
        assert drain.acks_waiting == 2 and pending(store) == 200
    mono.now += 2
    drain.pump(online=True)
    assert drain.acks_waiting == 0 and pending(store) == 0 and guard.summary() == ""
    assert guard.health() == {"store": "ok"} and guard.busy_failures == 2


def test_presence_says_the_store_is_busy_without_writing_and_writes_again_after(store: BriefStore) -> None:
    queue_events(store, 3, "door-a")
    mono = Mono()
    guard, pub, _, clock = parts(store, mono)
    notifier = RecordingNotifier()
    presence = Presence(store, SETTINGS, pub, guard, clock, notifier, monotonic=mono)
    presence.refresh(True, None, "online; sent 0", force=True)
    row = read_row(store)
    assert (
        row.pending == 3
        and row.online
        and notifier.lines("STATUS=") == ["STATUS=online; sent 0; pending 3; dead letters 0"]
    )
    assert pub.on("/status")[-1]["health"]["store"] == "ok"
    with write_lock(store):
        clock.advance(timedelta(minutes=1))
        mono.now += 20  # the heartbeat is due
        presence.refresh(True, None, "online; sent 0")
        assert read_row(store).updated_at == NOW  # could not write
        line = notifier.lines("STATUS=")[-1]
        assert line == "STATUS=online; sent 0; pending 3; dead letters 0; store busy since 2027-03-28T01:31:00.000000Z"
        busy = pub.on("/status")[-1]
        assert busy["health"]["store"] == "busy" and busy["health"]["print_failed"] == 0  # printer health kept
        assert busy["health"]["store_trouble_since"] == "2027-03-28T01:31:00.000000Z"
        assert busy["pending"] == 3  # from the last row written
    mono.now += 2
    presence.refresh(True, None, "online; sent 0")
    assert read_row(store).updated_at == NOW + timedelta(minutes=1)
    assert pub.on("/status")[-1]["health"]["store"] == "ok"
    assert (
        read_row(store).text == "online; sent 0"
        and notifier.lines("STATUS=")[-1] == "STATUS=online; sent 0; pending 3; dead letters 0"
    )


def read_row(store: Store) -> Any:
    with store.read() as conn:
        return read_status(conn)


def test_pruner_backs_off_while_busy_and_goes_on_after(store: BriefStore) -> None:
    queue_events(store, 700, "door-a")
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE outbox SET synced_at = '2027-03-01T00:00:00.000000Z'")
    mono = Mono()
    clock = SteppingClock(NOW)
    guard = StoreGuard(clock, base=0.1, cap=1.0, monotonic=mono)
    pruner = Pruner(store, guard, clock, retention=timedelta(days=7), interval=60, shared_up_to=lambda: 10**9,
                    monotonic=mono)  # fmt: skip
    with write_lock(store):
        assert pruner.tick() == 0 and guard.trouble == "busy"
    mono.now += 2
    assert pruner.tick() == 500  # a full batch: the next one after a short pause
    assert pruner.tick() == 0
    mono.now += 0.5
    assert pruner.tick() == 199 and pruner.pruned == 699  # never the newest row
    mono.now += 1
    assert pruner.tick() == 0  # not due before the interval


def test_guard_shares_one_backoff_between_writes_but_lets_reads_through() -> None:
    mono = Mono()
    guard = StoreGuard(SteppingClock(NOW), base=1.0, cap=1.0, monotonic=mono)

    def busy() -> int:
        orig = sqlite3.OperationalError("database is locked")
        raise StoreError("locked") from sqlalchemy.exc.OperationalError("BEGIN", None, orig)

    assert guard.attempt("status", busy) is None and guard.trouble == "busy"
    assert not guard.ready("ack") and guard.ready("drain", writes=False)
    assert guard.attempt("drain", lambda: 7, writes=False) == 7 and guard.trouble == "busy"  # a read ends nothing
    mono.now += 1.1
    assert guard.attempt("ack", lambda: 1) == 1 and guard.summary() == ""


def peer_message(scan_id: str, ticket_id: int) -> bytes:
    adm = {"v": 1, "scan_id": scan_id, "ticket_id": ticket_id, "performance_id": 12, "movement": "entry",
           "device_id": "door-b", "gate": "main", "list_id": 1, "scanned_at": "2027-03-28T01:00:00Z",
           "pseq": ticket_id}  # fmt: skip
    body = {"v": 1, "type": "peer_admissions", "device_id": "door-b", "top": ticket_id, "admissions": [adm]}
    return json.dumps(Signer(door_key("door-b")).envelope(body)).encode()


def test_inbound_messages_wait_for_a_busy_store_in_arrival_order(store: BriefStore, keys) -> None:  # type: ignore[no-untyped-def]
    mono = Mono()
    guard, _, drain, clock = parts(store, mono)
    topics = DeviceTopics("lac", "door-a")
    handler = InboundHandler(store, topics, keys.verifier(), clock, drain.want_resync)
    appliers = InboundAppliers(store, topics, handler, drain, guard, clock)
    peer_topic = DeviceTopics("lac", "door-b").admission
    appliers.receive(peer_topic, peer_message("s1", 1))
    assert checkins(store) == ["s1"] and appliers.changed is False  # peers' check-ins are not central data
    with write_lock(store):
        appliers.receive(peer_topic, peer_message("s2", 2))
        appliers.receive(peer_topic, peer_message("s3", 3))
        assert appliers.waiting == 2 and guard.trouble == "busy"
        mono.now += 2
        appliers.retry()
        assert appliers.waiting == 2
    mono.now += 2
    appliers.retry()
    assert appliers.waiting == 0 and checkins(store) == ["s1", "s2", "s3"] and guard.summary() == ""
    appliers.receive(topics.ack, b'{"v": 1}')  # unsigned: counted as rejected, nothing else happens
    with store.read() as conn:
        assert inbound_counts(conn)[("ack", "unsigned")] == 1
        assert inbound_counts(conn)[("peer_admission", "applied")] == 3


def checkins(store: Store) -> list[str]:
    with store.read() as conn:
        return [r[0] for r in conn.exec_driver_sql("SELECT scan_id FROM checkins ORDER BY scan_id")]
