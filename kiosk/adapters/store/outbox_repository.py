"""The outbox as the sync agent's drain reads it: unsynced rows after a cursor, check-ins after a cursor, the top.

Rows come back as plain tuples of stored values (no parse, no model): `sync_agent.outbound` turns them into the
batch and the peer admissions. Each function runs inside the caller's transaction (`Store.read()`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Row, String, func, select, type_coerce

from kiosk.adapters.store import tables as t
from kiosk.domain.outbox import EventKind

# (seq, event_id, kind, occurred_at as its stored canonical `iso` text, payload as the stored JSON text): rows the
# caller unpacks like tuples (cheaper than Row attribute access).
UnsyncedRow = Row[int, str, str, str, str]


def unsynced_after(conn: Connection, after_seq: int, limit: int) -> Sequence[UnsyncedRow]:
    """Up to `limit` unsynced rows with `seq > after_seq`, oldest first."""
    o = t.outbox.c
    return conn.execute(
        # occurred_at as stored: already the canonical `iso` text, so no parse and format per event.
        select(o.seq, o.event_id, o.kind, type_coerce(o.occurred_at, String), o.payload)
        .where(o.synced_at.is_(None), o.seq > after_seq)
        .order_by(o.seq)
        .limit(limit)
    ).all()


def outbox_top(conn: Connection) -> int:
    """The highest `seq` in the outbox (0 when empty): moves whenever an event is appended."""
    return int(conn.execute(select(func.max(t.outbox.c.seq))).scalar_one() or 0)


def checkins_after(conn: Connection, after_seq: int, limit: int) -> Sequence[Row[int, str]]:
    """(seq, stored payload) of up to `limit` check-in rows with `seq > after_seq`, synced or not, oldest first."""
    o = t.outbox.c
    return conn.execute(
        select(o.seq, o.payload).where(o.seq > after_seq, o.kind == EventKind.CHECKIN).order_by(o.seq).limit(limit)
    ).all()
