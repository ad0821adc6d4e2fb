"""The agent's state in the device store: the status row the UI reads, inbound counters, key/value state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from kiosk.adapters.store import sync_tables as st
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore


def get_state(conn: Connection, key: str, default: str = "") -> str:
    value = conn.execute(select(st.sync_state.c.value).where(st.sync_state.c.key == key)).scalar_one_or_none()
    return default if value is None else str(value)


def set_state(conn: Connection, key: str, value: str) -> None:
    conn.execute(delete(st.sync_state).where(st.sync_state.c.key == key))
    conn.execute(insert(st.sync_state).values(key=key, value=value))


def count_inbound(conn: Connection, kind: str, outcome: str, at: datetime) -> None:
    c = st.sync_inbound_counters.c
    done = conn.execute(
        update(st.sync_inbound_counters)
        .where(c.kind == kind, c.outcome == outcome)
        .values({c["count"]: c["count"] + 1, c.last_at: at})
    ).rowcount
    if not done:
        conn.execute(insert(st.sync_inbound_counters).values(kind=kind, outcome=outcome, count=1, last_at=at))


def inbound_counts(conn: Connection) -> dict[tuple[str, str], int]:
    c = st.sync_inbound_counters.c
    rows = conn.execute(select(c.kind, c.outcome, c["count"]))
    return {(kind, outcome): int(n) for kind, outcome, n in rows}


def device_health(conn: Connection) -> dict[str, Any]:
    """Printer health from the print journal, when this build has one: jobs per state, the last printer status."""
    has_journal = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'print_jobs'"
    ).first()
    if has_journal is None:
        return {}
    states = {str(k): int(n) for k, n in conn.exec_driver_sql("SELECT state, count(*) FROM print_jobs GROUP BY state")}
    last = conn.exec_driver_sql("SELECT state, last_status, error FROM print_jobs ORDER BY seq DESC LIMIT 1").first()
    health: dict[str, Any] = {
        "print_queue": states.get("queued", 0) + states.get("sent", 0),
        "print_failed": states.get("failed", 0),
        "print_unknown": states.get("unknown", 0),
    }
    if last is not None:
        health["printer_last"] = {"state": last[0], "status": str(last[1])[:100], "error": str(last[2])[:100]}
    return health


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
    row = conn.execute(select(st.sync_status).where(st.sync_status.c.id == 1)).first()
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


def write_status(
    conn: Connection, *, online: bool, last_ack_at: datetime | None, data_at: datetime | None, text: str, now: datetime
) -> SyncStatus:
    outbox = SqlOutboxStore()
    status = SyncStatus(
        online=online,
        pending=outbox.pending_count(conn),
        oldest_pending_at=outbox.oldest_pending_at(conn),
        last_ack_at=last_ack_at,
        dead_letters=int(conn.execute(select(func.count()).select_from(t.dead_letters)).scalar_one()),
        data_at=data_at,
        catalog_version=SqlCatalogStore().version(conn),
        text=text[:200],
        updated_at=now,
    )
    conn.execute(delete(st.sync_status))
    conn.execute(insert(st.sync_status).values(id=1, **status.__dict__))
    return status
