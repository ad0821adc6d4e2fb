"""The agent's state in the device store: the status row the UI reads, inbound counters, key/value state.

The UI reads the row with `kiosk.adapters.store.sync_tables.read_status` (no dependency on this package)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from kiosk.adapters.store import sync_tables as st
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore
from kiosk.adapters.store.sync_tables import SyncStatus, read_status

__all__ = [
    "SyncStatus",
    "count_inbound",
    "device_health",
    "get_state",
    "inbound_counts",
    "read_status",
    "set_state",
    "write_status",
]


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
