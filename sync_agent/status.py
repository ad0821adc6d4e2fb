"""The agent's state in the device store: the status row the UI reads, the live outbox queue, key/value state.

The SQL lives in `kiosk.adapters.store.sync_repository` (and the outbox and dead-letter repositories); these
names stay here for the agent's callers. The UI reads the row with `kiosk.adapters.store.sync_tables.read_status`
(no dependency on this package)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.adapters.store.dead_letters import count_dead_letters
from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.adapters.store.sync_repository import (
    StoreConnection,
    SyncStatus,
    count_inbound,
    device_health,
    get_state,
    inbound_counts,
    read_status,
    set_state,
    write_status,
)

__all__ = [
    "OutboxQueue",
    "SyncStatus",
    "count_inbound",
    "device_health",
    "get_state",
    "inbound_counts",
    "outbox_queue",
    "read_status",
    "set_state",
    "write_status",
]


@dataclass(frozen=True)
class OutboxQueue:
    """What waits in the outbox now, read from the outbox itself (the status row is only the agent's last view,
    and there is none before the agent's first status write)."""

    pending: int
    oldest_pending_at: datetime | None
    dead_letters: int

    def oldest_pending_age_s(self, now: datetime) -> float | None:
        return (now - self.oldest_pending_at).total_seconds() if self.oldest_pending_at else None


def outbox_queue(conn: StoreConnection) -> OutboxQueue:
    outbox = SqlOutboxStore()
    return OutboxQueue(outbox.pending_count(conn), outbox.oldest_pending_at(conn), count_dead_letters(conn))
