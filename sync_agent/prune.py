"""Outbox pruning: events central acknowledged long ago leave the device's store, a small batch at a time.

Only rows that are done everywhere go: acked by central (`synced_at` set) more than the retention period ago and
already shared with the venue's other doors. Kept, always: every unsynced row; the row with the highest `seq`
(`outbox_top` is the agent's peer-sharing cursor and firmware_config's selftest reads the newest `occurred_at`
as the last time this device wrote — an empty outbox would lose both); the rows of dead letters (a technician
reads them next to the reason). `seq` never goes back after a delete: the outbox is AUTOINCREMENT.
Each batch is its own short write transaction, so a scan at the door never waits behind a long delete.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, exists, func, select

from kiosk.adapters.store import tables as t

DEFAULT_RETENTION = timedelta(days=7)
PRUNE_BATCH = 500


def prune_outbox(conn: Connection, *, synced_before: datetime, shared_up_to: int, limit: int = PRUNE_BATCH) -> int:
    """Delete up to `limit` outbox rows synced before `synced_before` (longest synced first); returns the count."""
    o = t.outbox.c
    top = select(func.max(o.seq)).scalar_subquery()
    dead = exists().where(t.dead_letters.c.event_id == o.event_id)
    victims = (
        select(o.seq)
        .where(
            o.synced_at.is_not(None),
            o.synced_at < synced_before,
            o.seq < top,
            o.seq <= shared_up_to,
            ~dead,
        )
        # By synced_at: the (synced_at, seq) index gives just the long-synced rows, not a scan of the whole outbox.
        .order_by(o.synced_at, o.seq)
        .limit(limit)
    )
    return int(conn.execute(delete(t.outbox).where(o.seq.in_(victims))).rowcount)
