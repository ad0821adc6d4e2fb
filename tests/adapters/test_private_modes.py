"""The store (and its WAL and shared-memory files) is 0600 and state folders 0700, whatever the umask (#6)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware_config.clock import record_central_time
from firmware_config.identity import create_identity
from kiosk.adapters.store.engine import open_store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_store_and_its_side_files_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "state" / "deep" / "kiosk.sqlite"
    store = open_store(db, create=True)
    with store.write() as conn:  # the WAL and -shm exist while a connection is open
        conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
        sides = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in sides)
        assert [mode(p) for p in (db, *sides)] == [0o600, 0o600, 0o600]
    assert mode(db.parent) == mode(db.parent.parent) == 0o700
    store.close()


def test_an_older_world_readable_store_is_made_owner_only_when_opened(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "kiosk.sqlite"
    open_store(db, create=True).close()
    os.chmod(db, 0o644)
    store = open_store(db)
    with store.read() as conn:
        conn.exec_driver_sql("SELECT 1").scalar()
    assert mode(db) == 0o600
    store.close()


def test_state_folders_are_owner_only(tmp_path: Path, open_umask: None) -> None:
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    create_identity(tmp_path / "id-state", now)
    record_central_time(tmp_path / "time-state" / "sub", now)
    assert mode(tmp_path / "id-state") == 0o700
    assert mode(tmp_path / "time-state") == mode(tmp_path / "time-state" / "sub") == 0o700
    for file in (tmp_path / "id-state").rglob("*"):
        assert mode(file) & 0o077 == 0, file
