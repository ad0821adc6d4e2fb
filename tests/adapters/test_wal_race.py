"""Processes opening one brand-new store file together all get it in WAL mode (SQLite's journal-mode switch can
fail at once with 'database is locked', without waiting on the busy timeout)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from kiosk.adapters.store.engine import make_engine


def _open_and_write(path: str, results: mp.Queue[str], start: Any) -> None:
    try:
        start.wait(10)
        engine = make_engine(path)
        with engine.begin() as conn:  # a write right away, as a migrating instance does
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (x)")
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        engine.dispose()
        results.put(str(mode))
    except Exception as exc:  # the parent reports what the child hit
        results.put(repr(exc))


def test_six_processes_opening_a_new_file_together_all_get_wal(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    outcomes: list[str] = []
    for attempt in range(40):
        results: mp.Queue[str] = ctx.Queue()
        start = ctx.Barrier(6)
        path = str(tmp_path / f"new-{attempt}.sqlite")
        procs = [ctx.Process(target=_open_and_write, args=(path, results, start)) for _ in range(6)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=30)
        outcomes += [results.get(timeout=5) for _ in procs]
    assert set(outcomes) == {"wal"}, [o for o in outcomes if o != "wal"][:3]
