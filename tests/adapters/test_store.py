"""The device store: pragmas on every connection, migrations equal to the table definitions, write locking."""

from __future__ import annotations

import importlib
import pkgutil
import threading
import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import kiosk.adapters.store as store_pkg
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.tables import metadata


def _all_table_modules() -> None:
    # Feature modules (printing, sync, sales) add their tables to the same metadata.
    for info in pkgutil.iter_modules(store_pkg.__path__):
        if info.name == "tables" or info.name.endswith("_tables"):
            importlib.import_module(f"{store_pkg.__name__}.{info.name}")


def test_pragmas_on_every_pooled_connection(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite", create=True)
    conns = [store.engine.connect() for _ in range(3)]
    for conn in conns:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        conn.close()
    store.close()


def test_migrations_create_exactly_the_declared_schema(tmp_path: Path) -> None:
    _all_table_modules()
    store = open_store(tmp_path / "m.sqlite", create=True)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_reopening_keeps_data_and_does_not_remigrate(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    store = open_store(path, create=True)
    with store.write() as conn:
        conn.exec_driver_sql("insert into meta(key, value) values ('probe', 'kept')")
    store.close()
    store = open_store(path)
    with store.read() as conn:
        assert conn.exec_driver_sql("select value from meta where key='probe'").scalar() == "kept"
    store.close()


def test_writes_take_the_lock_up_front(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer waits for the first instead of failing with 'database is locked'."""
    store = open_store(tmp_path / "l.sqlite", create=True)
    order: list[str] = []

    def second() -> None:
        with store.write() as conn:
            order.append("second")
            conn.exec_driver_sql("insert into meta(key, value) values ('b', '2')")

    with store.write() as conn:
        conn.exec_driver_sql("insert into meta(key, value) values ('a', '1')")
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.3)
        order.append("first commits")
    worker.join(10)
    assert order == ["first commits", "second"]
    store.close()
