"""Opening the device store: SQLite with WAL, synchronous=FULL, foreign keys, busy timeout, BEGIN IMMEDIATE.

`open_store` applies the Alembic migrations and turns the ways a file can be wrong (missing, not a database,
corrupt, read-only, disk full) into `StoreError` with a message a technician can act on.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from kiosk.adapters.private_files import make_private, make_private_dirs
from kiosk.adapters.store.space import RESERVE_BYTES, WARN_FREE_BYTES, make_reserve, measure, release_reserve
from kiosk.domain.errors import KioskError
from kiosk.domain.store_space import SpaceView

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
# The WAL is checkpointed every ~256 KB and cut back to this size after a checkpoint: with SQLite's defaults it
# grew to 1.8 MB of a 2 MB disk (4 MB between checkpoints, never truncated).
WAL_AUTOCHECKPOINT_PAGES = 64
JOURNAL_SIZE_LIMIT = 256 * 1024
_MODE = "kiosk_begin"


class StoreError(KioskError):
    """The store cannot be used; the message says why and what to do."""

    reason = "store_unavailable"


class StoreBusy(StoreError):
    """Another connection held the write lock longer than the busy timeout: retry later."""

    reason = "store_busy"


class StoreFull(StoreError):
    """The disk is full: nothing was written. `retry_now`: the reserve was just released, a retry will fit."""

    reason = "store_full"
    retry_now = False


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Autocommit at the driver level: we issue BEGIN ourselves (pysqlite's implicit BEGIN is deferred).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    _enter_wal(cur)
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    # Deleted and updated cells are zeroed, so a scrubbed value (migration 0006) is gone from the file too.
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cur.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    cur.close()


def _enter_wal(cur: sqlite3.Cursor) -> None:
    # Two processes opening a brand-new file race to switch it to WAL; the loser can get SQLITE_BUSY at once,
    # without SQLite's busy handler (a lock upgrade it cannot wait for). WAL is persistent, so retrying briefly
    # is enough: the winner's switch is seen on the next try.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _on_begin(conn: Connection) -> None:
    # Writes take the write lock up front, so two writers never deadlock upgrading a read lock.
    mode = conn.get_execution_options().get(_MODE, "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path | str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    url = "sqlite+pysqlite:///:memory:" if str(path) == ":memory:" else f"sqlite+pysqlite:///{Path(path)}"
    engine = create_engine(
        url,
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=4,
        # pysqlite's timeout is SQLite's busy timeout (no PRAGMA: one place says how long a lock is waited for).
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


class Store:
    """The open device store: `write()` for a BEGIN IMMEDIATE transaction, `read()` for a deferred one."""

    def __init__(
        self,
        engine: Engine,
        path: Path,
        *,
        reserve_bytes: int = 0,
        warn_free_bytes: int = WARN_FREE_BYTES,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        self.engine = engine
        self.busy_timeout_ms = busy_timeout_ms
        self.path = path
        self.reserve_bytes = reserve_bytes
        self.warn_free_bytes = warn_free_bytes

    @contextmanager
    def write(self) -> Iterator[Connection]:
        try:
            with translate_errors(self.path), self.engine.connect() as conn, conn.begin():
                yield conn
        except StoreFull as exc:
            if not release_reserve(self.path):
                raise
            full = StoreFull(f"{exc}; the space reserve was released, so the next writes fit: free space now")
            full.retry_now = True
            raise full from exc

    def checkpoint(self) -> bool:
        """Copy the WAL into the store and cut it to zero bytes, if no one is writing now (idle work)."""
        raw = self.engine.raw_connection()
        try:
            driver: Any = raw.driver_connection
            driver.execute("PRAGMA busy_timeout=0")  # idle work never waits for a writer
            try:
                busy, _, _ = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                driver.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
            return not busy
        except sqlite3.Error:
            return False
        finally:
            raw.close()

    def space(self) -> SpaceView:
        """Free space, WAL size and reserve (checkpointing first: this is asked at idle, every few seconds)."""
        self.checkpoint()
        return measure(self.path, self.reserve_bytes, self.warn_free_bytes)

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
        raise store_error(path, exc.orig) from exc


def store_error(path: Path, err: BaseException | None) -> StoreError:
    """The StoreError for a driver error: StoreBusy and StoreFull are told apart (their `reason`s are stable)."""
    text = str(err or "").lower()
    kind = StoreFull if "full" in text else StoreBusy if "locked" in text or "busy" in text else StoreError
    return kind(describe_sqlite_error(path, err))


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


def open_store(
    path: Path | str,
    *,
    create: bool = False,
    migrate: bool = True,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    reserve_bytes: int = RESERVE_BYTES,
    warn_free_bytes: int = WARN_FREE_BYTES,
) -> Store:
    """Open (and with `create`, make) the store at `path`, migrated to the newest schema."""
    from kiosk.adapters.store.revisions import is_current

    path = Path(path)
    if not create and not path.exists():
        # Never advise `kiosk demo-data` here: on a venue's device it would make a demo store under the real path.
        raise StoreError(
            f"{path}: no database here; check the path (--db, or paths.database in the config): a device's store "
            "is made at its first boot (docs/operations.md, section 1)"
        )
    if create:
        make_private_dirs(path.parent)
    if str(path) != ":memory:" and (create or path.exists()):
        make_private(path)
    engine = make_engine(path, busy_timeout_ms)
    memory = str(path) == ":memory:"
    reserve = 0 if memory else reserve_bytes
    store = Store(engine, path, reserve_bytes=reserve, warn_free_bytes=warn_free_bytes, busy_timeout_ms=busy_timeout_ms)
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
    if not memory:
        make_reserve(path, reserve_bytes)  # after the schema: a new store on a small disk gets its tables first
    return store
