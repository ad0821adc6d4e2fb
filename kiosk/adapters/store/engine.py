"""Opening the device store: SQLite with WAL, synchronous=FULL, foreign keys, busy timeout, BEGIN IMMEDIATE.

`open_store` applies the Alembic migrations and turns the ways a file can be wrong (missing, not a database,
corrupt, read-only, disk full) into `StoreError` with a message a technician can act on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from kiosk.domain.errors import KioskError

BUSY_TIMEOUT_MS = 5000
_MODE = "kiosk_begin"


class StoreError(KioskError):
    """The store cannot be used; the message says why and what to do."""

    reason = "store_unavailable"


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Autocommit at the driver level: we issue BEGIN ourselves (pysqlite's implicit BEGIN is deferred).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _on_begin(conn: Connection) -> None:
    # Writes take the write lock up front, so two writers never deadlock upgrading a read lock.
    mode = conn.get_execution_options().get(_MODE, "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path | str) -> Engine:
    url = "sqlite+pysqlite:///:memory:" if str(path) == ":memory:" else f"sqlite+pysqlite:///{Path(path)}"
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


class Store:
    """The open device store: `write()` for a BEGIN IMMEDIATE transaction, `read()` for a deferred one."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with translate_errors(self.path), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with translate_errors(self.path), self.engine.connect() as raw:
            conn = raw.execution_options(**{_MODE: "DEFERRED"})
            with conn.begin():
                yield conn

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(describe_sqlite_error(path, exc.orig)) from exc


def describe_sqlite_error(path: Path, err: BaseException | None) -> str:
    text = str(err or "").lower()
    if "not a database" in text or "malformed" in text:
        return f"{path}: the database file is corrupt or not a kiosk database ({err}); restore it or re-provision"
    if "disk is full" in text or "database or disk is full" in text:
        return f"{path}: the disk is full; nothing was written — free space and retry"
    if "readonly" in text or "read-only" in text:
        return f"{path}: the database is read-only for this user"
    if "unable to open" in text:
        return f"{path}: cannot open the database file (missing folder or no permission)"
    if "locked" in text or "busy" in text:
        return f"{path}: the database stayed locked for {BUSY_TIMEOUT_MS} ms by another process"
    return f"{path}: database error: {err}"


def open_store(path: Path | str, *, create: bool = False, migrate: bool = True) -> Store:
    """Open (and with `create`, make) the store at `path`, migrated to the newest schema."""
    from kiosk.adapters.store.revisions import is_current

    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"{path}: no database here; create one with `kiosk demo-data --db {path}`")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(path)
    store = Store(engine, path)
    try:
        with translate_errors(path), engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            current = is_current(conn)
        if migrate and not current:
            from kiosk.adapters.store.migrate import upgrade  # imports Alembic: only when there is work to do

            upgrade(store)
    except StoreError:
        engine.dispose()
        raise
    except sqlite3.DatabaseError as exc:
        engine.dispose()
        raise StoreError(describe_sqlite_error(path, exc)) from exc
    return store
