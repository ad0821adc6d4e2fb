"""Outbox pruning: events central acknowledged long ago leave the device's store, a small batch at a time.

Only rows that are done everywhere go: acked by central (`synced_at` set) more than the retention period ago and
already shared with the venue's other doors. Kept, always: every unsynced row; the row with the highest `seq`
(`outbox_top` is the agent's peer-sharing cursor and firmware_config's selftest reads the newest `occurred_at`
as the last time this device wrote — an empty outbox would lose both); the rows of dead letters (a technician
reads them next to the reason). `seq` never goes back after a delete: the outbox is AUTOINCREMENT.
Each batch is its own short write transaction, so a scan at the door never waits behind a long delete.
The SQL is `kiosk.adapters.store.sync_repository.prune_outbox`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from kiosk.adapters.store import sync_repository as repo
from kiosk.adapters.store.engine import Store
from kiosk.domain.clock import Clock
from sync_agent.guard import StoreGuard
from sync_agent.timers import Deadline, Monotonic

log = logging.getLogger("kiosk.sync")

DEFAULT_RETENTION = timedelta(days=7)
PRUNE_BATCH = 500


def prune_outbox(
    conn: repo.StoreConnection, *, synced_before: datetime, shared_up_to: int, limit: int = PRUNE_BATCH
) -> int:
    """Delete up to `limit` outbox rows synced before `synced_before` (longest synced first); returns the count."""
    return repo.prune_outbox(conn, synced_before=synced_before, shared_up_to=shared_up_to, limit=limit)


PRUNE_PAUSE = 0.2  # seconds between two full pruning batches (the UI's writes get the lock in between)


class Pruner:
    """Deletes one small batch of long-synced outbox rows when due, online or not (`tick()` once per turn)."""

    def __init__(
        self,
        store: Store,
        guard: StoreGuard,
        clock: Clock,
        *,
        retention: timedelta,
        interval: float,
        shared_up_to: Callable[[], int],
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.store, self.guard, self.clock = store, guard, clock
        self.retention, self.interval, self.shared_up_to = retention, interval, shared_up_to
        self._due = Deadline(monotonic)
        self.pruned = 0  # rows deleted since start

    def tick(self) -> int:
        """Rows deleted this turn (0 when not due, nothing old or the store busy: then tried again later)."""
        if not self._due.due():
            return 0

        def write() -> int:
            with self.store.write() as conn:
                before = self.clock() - self.retention
                return prune_outbox(conn, synced_before=before, shared_up_to=self.shared_up_to())

        gone = self.guard.attempt("prune", write)
        if gone is None:
            return 0  # the guard's backoff says when to try again
        self.pruned += gone
        # A full batch means more is waiting: go on after a short pause rather than hold the store's write lock.
        self._due.after(PRUNE_PAUSE if gone >= PRUNE_BATCH else self.interval)
        if gone:
            log.debug("pruned %d synced outbox rows (%d since start)", gone, self.pruned)
        return gone
