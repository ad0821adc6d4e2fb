"""Device-side tables of the sync agent: the status row the UI reads, inbound counters, ticket-list sequence state.

Written only by `kiosk-sync`; the UI reads `sync_status` (one row, id 1) with `read_status` to show
online / pending / oldest pending age / data age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Column, Connection, Integer, String, Table, Text, select

from kiosk.adapters.store.tables import UtcDateTime, metadata

sync_status = Table(
    "sync_status",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("online", Boolean, nullable=False, server_default="0"),
    Column("pending", Integer, nullable=False, server_default="0"),
    Column("oldest_pending_at", UtcDateTime, nullable=True),
    Column("last_ack_at", UtcDateTime, nullable=True),
    Column("dead_letters", Integer, nullable=False, server_default="0"),
    Column("data_at", UtcDateTime, nullable=True),  # when central data (catalog/tickets) last arrived
    Column("catalog_version", String(200), nullable=False, server_default=""),
    Column("text", String(200), nullable=False, server_default=""),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One row per (topic kind, outcome reason): how many inbound messages were applied or rejected and why.
sync_inbound_counters = Table(
    "sync_inbound_counters",
    metadata,
    Column("kind", String(32), primary_key=True),
    Column("outcome", String(64), primary_key=True),  # "applied", "ignored_old", or the rejection reason
    Column("count", Integer, nullable=False, server_default="0"),
    Column("last_at", UtcDateTime, nullable=False),
)

# Key/value state of the agent: ticket list snapshot id and delta seq, catalog and revocation versions,
# the outbox seq up to which admissions were shared with peers.
sync_state = Table(
    "sync_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

sync_commands = Table(
    "sync_commands",
    metadata,
    Column("command_id", String(36), primary_key=True),
    Column("name", String(32), nullable=False),
    Column("result", String(200), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class SyncStatus:
    """What the door screen shows about sync (read by the UI with `read_status`)."""

    online: bool
    pending: int
    oldest_pending_at: datetime | None
    last_ack_at: datetime | None
    dead_letters: int
    data_at: datetime | None
    catalog_version: str
    text: str
    updated_at: datetime

    def oldest_pending_age_s(self, now: datetime) -> float | None:
        return (now - self.oldest_pending_at).total_seconds() if self.oldest_pending_at else None

    def data_age_s(self, now: datetime) -> float | None:
        return (now - self.data_at).total_seconds() if self.data_at else None


def read_status(conn: Connection) -> SyncStatus | None:
    """The agent's last status row, or None when the agent never ran on this store."""
    row = conn.execute(select(sync_status).where(sync_status.c.id == 1)).first()
    if row is None:
        return None
    return SyncStatus(
        bool(row.online),
        int(row.pending),
        row.oldest_pending_at,
        row.last_ack_at,
        int(row.dead_letters),
        row.data_at,
        row.catalog_version,
        row.text,
        row.updated_at,
    )
