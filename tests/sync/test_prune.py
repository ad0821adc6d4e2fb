"""Outbox pruning on a real SQLite file: long-synced rows go in small batches; unsynced rows, recently synced rows,
dead letters, rows not yet shared with peers and the newest row stay; `seq` never goes back; the running agent
prunes by itself."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text, update

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.domain.outbox import EventKind, OutboxEvent
from sync_agent.agent import PEER_SEQ
from sync_agent.prune import PRUNE_BATCH, prune_outbox
from sync_agent.status import set_state
from tests.fixtures.clocks import running_clock
from tests.sync.conftest import open_device_store, pending, queue_events, wait_until

DAY = timedelta(days=1)


def seqs(store: Store) -> set[int]:
    with store.read() as conn:
        return set(conn.execute(select(t.outbox.c.seq)).scalars())


def mark(store: Store, first: int, last: int, at: datetime | None) -> None:
    with store.write() as conn:
        conn.execute(update(t.outbox).where(t.outbox.c.seq.between(first, last)).values(synced_at=at))


def dead_letter(store: Store, seq: int, at: datetime) -> None:
    with store.write() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.seq == seq)).one()
        conn.execute(
            insert(t.dead_letters).values(
                event_id=row.event_id, seq=seq, kind=row.kind, payload=row.payload, reason="malformed:gate",
                rejected_at=at,
            )
        )  # fmt: skip


def append_one(store: Store, now: datetime) -> int:
    with store.write() as conn:
        SqlOutboxStore().append(conn, OutboxEvent("late-event", EventKind.FAILED_SCAN, now, {"v": 1}))
        return int(conn.execute(select(t.outbox.c.seq).where(t.outbox.c.event_id == "late-event")).scalar_one())


@pytest.mark.all_dates
def test_only_long_synced_shared_rows_go_in_small_batches_and_seq_never_goes_back(
    tmp_path: Path, frozen_now: datetime
) -> None:
    now = frozen_now
    old, recent = now - 10 * DAY, now - DAY
    store = open_device_store(tmp_path / "door.sqlite")
    queue_events(store, 1200, "door-a")
    assert seqs(store) == set(range(1, 1201))
    mark(store, 1, 1000, old)  # long synced…
    dead_letter(store, 5, old)  # …but rejected by central: a technician reads it with the reason
    mark(store, 1001, 1050, recent)  # synced yesterday: inside the retention
    # 1051–1100 never synced
    mark(store, 1101, 1200, old)  # long synced, but 1151–1200 not shared with the other doors yet; 1200 the newest
    batches = []
    while True:
        with store.write() as conn:
            gone = prune_outbox(conn, synced_before=now - 7 * DAY, shared_up_to=1150)
        batches.append(gone)
        if gone == 0:
            break
    assert batches == [PRUNE_BATCH, PRUNE_BATCH, 49, 0]
    assert seqs(store) == {5, *range(1001, 1101), *range(1151, 1201)}
    assert pending(store) == 50
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.dead_letters)).scalar_one() == 1
    # Everything shared: still never the newest row (the peer cursor and the selftest's last write time).
    with store.write() as conn:
        assert prune_outbox(conn, synced_before=now, shared_up_to=10**9) == 50 + 49  # 1001–1050, 1151–1199
    assert max(seqs(store)) == 1200
    # AUTOINCREMENT: even with the newest rows deleted, a new event gets a seq above every one ever used.
    with store.write() as conn:
        conn.execute(text("DELETE FROM outbox WHERE seq > 1100"))
    assert append_one(store, now) == 1201


@pytest.mark.broker
def test_the_running_agent_prunes_what_central_acknowledged_long_ago(
    mosquitto, keys, start_central, start_agent, tmp_path: Path, frozen_now: datetime
) -> None:
    store = open_device_store(tmp_path / "door.sqlite")
    queue_events(store, 1300, "door-a")
    mark(store, 1, 1200, frozen_now - 8 * DAY)
    mark(store, 1201, 1250, frozen_now - 6 * DAY)
    with store.write() as conn:  # as if an earlier run had shared these check-ins with the other doors
        set_state(conn, PEER_SEQ, "1250")
    start_central(str(tmp_path / "central.sqlite"), mosquitto, keys)
    agent = start_agent(store, mosquitto, "door-a", keys, clock=running_clock(frozen_now), prune_interval=0.2)
    wait_until(lambda: pending(store) == 0, what="the last 50 events drained")
    wait_until(lambda: agent.agent.counters.pruned == 1200, what="the agent to prune the rows synced 8 days ago")
    # Synced 6 days ago (inside the 7-day default) and just now: kept.
    assert seqs(store) == set(range(1201, 1301))
