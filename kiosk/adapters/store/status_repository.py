"""Read-only counts for the screens: door movements since a moment, dead letters, and the sync agent's status row.

The sync agent owns `sync_status` (kiosk.adapters.store.sync_tables); on a store where it never ran (or without
the sync schema) `agent_state` is None and the screens say "never synced" instead of failing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.exc import OperationalError

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import StoreError
from kiosk.domain.sync_state import AgentSyncState

_ADMITTING = ("entry", "reentry")


class SqlStatusRepository:
    def _since(self, since: datetime, gate: str | None) -> list[Any]:
        c = t.checkins
        where = [c.c.scanned_at >= since]
        if gate is not None:
            where.append(c.c.gate == gate)
        return where

    def admitted_since(self, conn: Connection, since: datetime, gate: str | None) -> int:
        """First entries and re-entries since `since`."""
        c = t.checkins
        query = select(func.count()).select_from(c).where(and_(*self._since(since, gate), c.c.movement.in_(_ADMITTING)))
        return int(conn.execute(query).scalar_one())

    def inside_since(self, conn: Connection, since: datetime) -> int:
        """Tickets whose last movement since `since` is an entry, at any gate of the venue."""
        c = t.checkins
        last = (
            select(c.c.ticket_id, func.max(c.c.scanned_at).label("at"))
            .where(c.c.scanned_at >= since)
            .group_by(c.c.ticket_id)
            .subquery()
        )
        query = (
            select(func.count())
            .select_from(c.join(last, and_(c.c.ticket_id == last.c.ticket_id, c.c.scanned_at == last.c.at)))
            .where(c.c.movement.in_(_ADMITTING))
        )
        return int(conn.execute(query).scalar_one())

    def dead_letter_count(self, conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(t.dead_letters)).scalar_one())

    def last_rejection(self, conn: Connection) -> str:
        d = t.dead_letters.c
        reason = conn.execute(select(d.reason).order_by(d.rejected_at.desc(), d.seq.desc()).limit(1)).scalar()
        return str(reason or "")

    def wipe_requested(self, conn: Connection) -> bool:
        try:
            from kiosk.adapters.store.sync_tables import sync_state

            # the key firmware_config.wipe_request writes (adapters do not import firmware_config)
            found = conn.execute(select(sync_state.c.value).where(sync_state.c.key == "wipe_request")).scalar()
        except (ImportError, OperationalError, StoreError):
            return False
        return bool(found)

    def agent_state(self, conn: Connection) -> AgentSyncState | None:
        try:
            from kiosk.adapters.store.sync_tables import sync_status

            row = conn.execute(select(sync_status).where(sync_status.c.id == 1)).first()
        except (ImportError, OperationalError, StoreError):
            return None
        if row is None:
            return None
        return AgentSyncState(bool(row.online), int(row.dead_letters), row.catalog_version, row.data_at, row.text)
