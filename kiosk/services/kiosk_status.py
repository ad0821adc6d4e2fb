"""What the screens show about the device: door counters, sync status and data age (read-only queries).

The sync agent owns the `sync_status` row (kiosk.adapters.store.sync_tables); before it has ever run, or on a
store without the sync schema, the status says "never synced" instead of failing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.exc import OperationalError

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, StoreError
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore
from kiosk.domain.catalog import Catalog
from kiosk.domain.timeutil import VENUE_TZ

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

    def __init__(self, store: Store) -> None:
        self._store = store
        self._catalogs = SqlCatalogStore()
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

    def door_counters(self, now: datetime, gate: str | None = None) -> DoorCounters:
        since = _local_midnight(now)
        c = t.checkins
        where = [c.c.scanned_at >= since]
        if gate is not None:
            where.append(c.c.gate == gate)
        with self._store.read() as conn:
            admitted = conn.execute(
                select(func.count()).select_from(c).where(and_(*where, c.c.movement.in_(("entry", "reentry"))))
            ).scalar_one()
            last = (
                select(c.c.ticket_id, func.max(c.c.scanned_at).label("at"))
                .where(c.c.scanned_at >= since)
                .group_by(c.c.ticket_id)
                .subquery()
            )
            inside = conn.execute(
                select(func.count())
                .select_from(c.join(last, and_(c.c.ticket_id == last.c.ticket_id, c.c.scanned_at == last.c.at)))
                .where(c.c.movement.in_(("entry", "reentry")))
            ).scalar_one()
        return DoorCounters(int(admitted), int(inside))

    def sync(self) -> SyncView:
        with self._store.read() as conn:
            own = self._local_sync(conn)
            try:
                from kiosk.adapters.store.sync_tables import sync_status

                row = conn.execute(select(sync_status).where(sync_status.c.id == 1)).first()
            except (ImportError, OperationalError, StoreError):
                row = None
        if row is None:
            return own
        return SyncView(
            online=bool(row.online),
            pending=own.pending,
            dead_letters=max(int(row.dead_letters), own.dead_letters),
            catalog_version=row.catalog_version or own.catalog_version,
            data_at=row.data_at,
            oldest_pending_at=own.oldest_pending_at,
            text=row.text,
        )

    @staticmethod
    def _local_sync(conn: Connection) -> SyncView:
        outbox = SqlOutboxStore()
        dead = conn.execute(select(func.count()).select_from(t.dead_letters)).scalar_one()
        return SyncView(
            online=False,
            pending=outbox.pending_count(conn),
            dead_letters=int(dead),
            catalog_version=SqlCatalogStore().version(conn),
            data_at=None,
            oldest_pending_at=outbox.oldest_pending_at(conn),
        )
