"""A store on a real 2 MB filesystem (tmpfs): the WAL stays small, the technician is warned before any write fails,
and when the disk is full the scan says so and nothing reported as done is lost (issue 11 #9)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from firmware_config.selftest import check_store_room
from kiosk.adapters.store.engine import JOURNAL_SIZE_LIMIT, StoreFull, open_store
from kiosk.adapters.store.identity import claim_store
from kiosk.compose_services import kiosk_status, scanning_service
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.store_space import SpaceLevel
from kiosk.services.store_retry import Backoff, retry_store

# The WAL may hold one checkpoint interval plus the transaction that crossed it.
WAL_BOUND = JOURNAL_SIZE_LIMIT + 128 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a 2 MB tmpfs here (needs root): {done.stderr.decode(errors='replace').strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_small_disk_is_warned_about_first_and_loses_nothing_shown_as_done(
    small_disk: Path, tmp_path: Path, frozen_now: datetime
) -> None:
    db = small_disk / "kiosk.sqlite"
    store = open_store(db, create=True)
    claim_store(store, "door-a", "lac", now=frozen_now, claimed_by="demo-data", role="both")
    install_demo_venue(store, build_demo_venue(frozen_now, 50, seed=3), tmp_path / "keys.json", frozen_now)
    assert check_store_room(db)[0]
    status = kiosk_status(store)
    service = scanning_service(store, "door-a", clock=lambda: frozen_now, debounce=timedelta(0))
    done, errors, wal_max, warned_at = 0, [], 0, None
    fulls: list[StoreFull] = []

    def scan(i: int) -> None:
        try:
            service.scan(f"not-a-ticket {i:05d} " + "x" * 40, "main")
        except StoreFull as exc:
            fulls.append(exc)
            raise

    for i in range(10_000):
        # Asked as a screen would, now and then: the WAL bound below holds without its idle checkpoint.
        space = status.space() if i % 25 == 0 else None
        if space is not None and warned_at is None and space.level is not SpaceLevel.OK:
            warned_at = i
            assert not fulls, "the first warning came after a write had already failed"
        try:
            retry_store(partial(scan, i), backoff=Backoff(attempts=2, first=0))
        except StoreFull as exc:
            errors.append(str(exc))
            break
        done += 1
        wal = db.with_name(db.name + "-wal")
        wal_max = max(wal_max, wal.stat().st_size if wal.exists() else 0)
    assert errors and "disk is full" in errors[0], "the disk never filled"
    assert warned_at is not None and done > 1000  # 66 scans filled it before
    assert wal_max <= WAL_BOUND, wal_max
    assert fulls[0].retry_now and warned_at < done - 20  # the reserve carried scans past the first full write
    assert status.space().level is SpaceLevel.FULL  # type: ignore[union-attr]
    assert not check_store_room(db)[0] and "reserve" in check_store_room(db)[1]
    for side in ("", "-wal"):  # read what is on the full disk from a copy (opening it there needs room)
        if db.with_name(db.name + side).exists():
            shutil.copy(db.with_name(db.name + side), tmp_path / f"copy.sqlite{side}")
    with sqlite3.connect(tmp_path / "copy.sqlite") as conn:
        rows = conn.execute("select count(*) from failed_scans").fetchone()[0]
        events = conn.execute("select count(*) from outbox where kind = 'failed_scan'").fetchone()[0]
    assert rows == events == done
    store.close()
