"""An event central rejected is visible wherever a technician looks at the agent: the status row, the STATUS line,
the retained presence and `kiosk-sync --show-status` all count it, so "online, pending 0" never hides it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.sync_repository import read_status
from kiosk.domain.clock import SteppingClock
from sync_agent import messages as m
from sync_agent.cli import show_status
from sync_agent.drain import OutboundDrain
from sync_agent.guard import StoreGuard
from sync_agent.mqtt import BrokerSettings
from sync_agent.presence import Presence
from sync_agent.settings import AgentCounters, AgentSettings
from tests.sync.conftest import RecordingNotifier, open_device_store, pending, queue_events

NOW = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # the night Zurich's clocks go back: nothing here cares
SETTINGS = AgentSettings("lac", "door-a", BrokerSettings("127.0.0.1", 1), batch_size=100, window=1)


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.sent.append((topic, payload))

    def on(self, suffix: str) -> list[Any]:
        return [json.loads(p) for t, p in self.sent if t.endswith(suffix)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_device_store(tmp_path / "door.sqlite")
    yield s
    s.close()


def test_a_rejected_event_shows_as_one_dead_letter_in_every_status(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    queue_events(store, 3, "door-a")
    clock = SteppingClock(NOW)

    def mono() -> float:
        return 1000.0  # time stands still: every status write here is forced

    guard = StoreGuard(clock, monotonic=mono)
    pub = FakePublisher()
    drain = OutboundDrain(store, SETTINGS, pub, guard, AgentCounters(), clock, monotonic=mono)
    notifier = RecordingNotifier()
    presence = Presence(store, SETTINGS, pub, guard, clock, notifier, monotonic=mono)
    presence.refresh(True, None, "online", force=True)
    assert notifier.lines("STATUS=")[-1] == "STATUS=online; pending 3; dead letters 0"

    drain.pump(online=True)
    (batch,) = pub.on("/tx")
    ids = [e["event_id"] for e in batch["events"]]
    rejected = [m.Rejection(event_id=ids[0], reason="device_mismatch")]
    drain.take_ack(
        m.Ack(v=1, type="ack", batch_id=batch["batch_id"], device_id="door-a", acked=ids[1:], rejected=rejected)
    )
    assert pending(store) == 0
    presence.refresh(True, drain.last_ack_at, "online", force=True)

    assert notifier.lines("STATUS=")[-1] == "STATUS=online; pending 0; dead letters 1"
    with store.read() as conn:
        row = read_status(conn)
    assert row is not None and (row.pending, row.dead_letters) == (0, 1)
    presence_msg = pub.on("/status")[-1]
    assert (presence_msg["online"], presence_msg["pending"], presence_msg["dead_letters"]) == (True, 0, 1)

    assert show_status(store.path) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"]["pending"], shown["status"]["dead_letters"]) == (0, 1)
    assert shown["dead_letters"] == [{"event_id": ids[0], "reason": "device_mismatch"}]
