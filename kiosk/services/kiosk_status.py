"""What the screens show about the device: door counters, sync status and data age (read-only queries).

The sync agent owns its status row (read through the StatusRepository port); before it has ever run, or on a
store without the sync schema, the status says "never synced" instead of failing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain.catalog import Catalog
from kiosk.domain.store_space import SpaceView
from kiosk.domain.timeutil import VENUE_TZ
from kiosk.services.ports import CatalogRepository, OutboxRepository, StatusRepository, StorePort, Tx

# Without news from central for this long, the badge warns that the ticket list may be stale.
STALE_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class DoorCounters:
    admitted_today: int  # first entries and re-entries since local midnight
    inside_now: int  # tickets whose last movement today is an entry


@dataclass(frozen=True)
class SyncView:
    online: bool
    pending: int
    dead_letters: int
    catalog_version: str
    data_at: datetime | None
    oldest_pending_at: datetime | None
    text: str = ""
    last_rejection: str = ""  # central's reason for the newest dead letter
    wipe_requested: bool = False  # central's signed wipe waits for a technician on the device

    def data_age(self, now: datetime) -> timedelta | None:
        return None if self.data_at is None else max(now - self.data_at, timedelta(0))

    def stale(self, now: datetime) -> bool:
        age = self.data_age(now)
        return age is None or age > STALE_AFTER


def _local_midnight(now: datetime) -> datetime:
    local = now.astimezone(VENUE_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class KioskStatus:
    """Read-only views for the door and technician screens; safe to call from any worker thread."""

    def __init__(
        self,
        store: StorePort,
        *,
        catalogs: CatalogRepository,
        outbox: OutboxRepository,
        status: StatusRepository,
        space: Callable[[], SpaceView] | None = None,
    ) -> None:
        self._store = store
        self._space = space
        self._catalogs = catalogs
        self._outbox = outbox
        self._status = status
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        """The current catalog, reloaded only when its version changed (screens ask every few seconds)."""
        with self._store.read() as conn:
            version = self._catalogs.version(conn)
            with self._lock:
                if self._catalog is None or self._catalog.version != version:
                    self._catalog = self._catalogs.load(conn)
                return self._catalog

    def space(self) -> SpaceView | None:
        """Room left for the store (its WAL checkpointed first: screens ask at idle), None if it cannot tell."""
        return self._space() if self._space is not None else None

    def door_counters(self, now: datetime, gate: str | None = None) -> DoorCounters:
        since = _local_midnight(now)
        with self._store.read() as conn:
            admitted = self._status.admitted_since(conn, since, gate)
            inside = self._status.inside_since(conn, since)
        return DoorCounters(admitted, inside)

    def sync(self) -> SyncView:
        with self._store.read() as conn:
            own = self._local_sync(conn)
            agent = self._status.agent_state(conn)
        if agent is None:
            return own
        return SyncView(
            online=agent.online,
            pending=own.pending,
            dead_letters=max(agent.dead_letters, own.dead_letters),
            catalog_version=agent.catalog_version or own.catalog_version,
            data_at=agent.data_at,
            oldest_pending_at=own.oldest_pending_at,
            text=agent.text,
            last_rejection=own.last_rejection,
            wipe_requested=own.wipe_requested,
        )

    def _local_sync(self, conn: Tx) -> SyncView:
        return SyncView(
            online=False,
            pending=self._outbox.pending_count(conn),
            dead_letters=self._status.dead_letter_count(conn),
            catalog_version=self._catalogs.version(conn),
            data_at=None,
            oldest_pending_at=self._outbox.oldest_pending_at(conn),
            last_rejection=self._status.last_rejection(conn),
            wipe_requested=self._status.wipe_requested(conn),
        )
