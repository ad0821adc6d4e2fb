"""The sync agent's own SQL on the device store: key/value state, inbound counters, the status row, acks, pruning.

`sync_agent` reaches the store only through repositories (this module, `sync_inbound_repository`,
`outbox_repository`, `dead_letters`, `identity`; a test enforces it); each function runs inside the caller's
transaction (`Store.write()` / `Store.read()`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, delete, exists, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from kiosk.adapters.store import sync_tables as st
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import BUSY_TIMEOUT_MS, Store, StoreError, translate_errors
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore
from kiosk.adapters.store.sync_tables import SyncStatus, read_status

BUSY = "store_busy"  # the reason of a StoreError raised by `BriefStore` when another writer kept the lock
# The handle a transaction gives to the repository functions and to feature hooks (catalog sections, commands).
StoreConnection = Connection

__all__ = [
    "BriefStore",
    "StoreConnection",
    "SyncStatus",
    "count_inbound",
    "dead_letter",
    "device_health",
    "get_state",
    "inbound_counts",
    "is_busy",
    "mark_synced",
    "prune_outbox",
    "read_status",
    "set_state",
    "write_status",
]


def is_busy(exc: StoreError) -> bool:
    """True when `exc` is another connection holding the write lock (worth retrying), not a broken store."""
    if exc.reason == BUSY:
        return True
    cause = exc.__cause__
    text = str(getattr(cause, "orig", cause) or exc).lower()
    return isinstance(cause, OperationalError) and ("locked" in text or "busy" in text)


class BriefStore(Store):
    """The same store (same engine), whose writes wait at most `wait_s` for another writer's lock.

    Past that, `write()` raises a StoreError that `is_busy` recognises, and the caller tries again later: a
    long-running writer elsewhere then never stalls the caller's loop for the engine's full busy timeout."""

    def __init__(self, store: Store, wait_s: float) -> None:
        super().__init__(store.engine, store.path)
        self.wait_ms = max(1, int(wait_s * 1000))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        try:
            with self._write() as conn:
                yield conn
        except StoreError as exc:
            if not is_busy(exc):
                raise
            # The same cause (so `is_busy` still sees it), with the wait this store really had.
            text = f"{self.path}: the database stayed locked for {self.wait_ms} ms by another writer"
            raise StoreError(text, reason=BUSY) from exc.__cause__

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with translate_errors(self.path), self.engine.connect() as conn:
            # At the driver level: a statement through `conn` would begin the (IMMEDIATE) transaction first.
            raw = cast(Any, conn.connection.dbapi_connection)
            raw.execute(f"PRAGMA busy_timeout={self.wait_ms}")
            try:
                with conn.begin():
                    yield conn
            finally:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


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


def mark_synced(conn: Connection, event_ids: list[str], at: datetime) -> int:
    return SqlOutboxStore().mark_synced(conn, event_ids, at)


def dead_letter(conn: Connection, rejected: Mapping[str, str], now: datetime) -> list[str]:
    """Copy the unsynced outbox rows central rejected into dead letters (with the reason); their reasons."""
    if not rejected:
        return []
    rows = conn.execute(select(t.outbox).where(t.outbox.c.event_id.in_(list(rejected)), t.outbox.c.synced_at.is_(None)))
    values = [
        {
            "event_id": r.event_id,
            "seq": r.seq,
            "kind": r.kind,
            "payload": r.payload,
            "reason": rejected[r.event_id][:200],
            "rejected_at": now,
        }
        for r in rows
    ]
    if values:
        conn.execute(sqlite_insert(t.dead_letters).on_conflict_do_nothing(index_elements=["event_id"]), values)
    return [str(v["reason"]) for v in values]


def prune_outbox(conn: Connection, *, synced_before: datetime, shared_up_to: int, limit: int) -> int:
    """Delete up to `limit` outbox rows synced before `synced_before` (longest synced first); returns the count.

    Never the newest row, an unsynced row, a row not shared with peers yet (`seq > shared_up_to`) or a dead
    letter's row (see `sync_agent.prune`)."""
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
