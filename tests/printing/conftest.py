"""Printing test fixtures and helpers: jobs queued in the demo store, their states, and a worker factory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.adapters.store.engine import Store, open_store
from kiosk.compose_services import print_journal, print_worker
from kiosk.demo.venue import DemoVenue
from kiosk.services.printing import JobState, PrintWorker

Venue = tuple[Store, DemoVenue]


def enqueue_jobs(store: Store, venue: DemoVenue, now: datetime, n: int = 1, **kw: object) -> list[str]:
    journal = print_journal()
    with store.write() as conn:
        return [journal.enqueue(conn, tk.ticket_id, now=now, **kw) for tk in venue.tickets[:n]]  # type: ignore[arg-type]


def job_states(store: Store) -> list[JobState]:
    with store.read() as conn:
        return [j.state for j in reversed(print_journal().jobs(conn))]


def job_states_at(db: Path) -> list[JobState]:
    store = open_store(db)
    try:
        return job_states(store)
    finally:
        store.close()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@pytest.fixture
def worker_for(demo_venue: Venue) -> Iterator[object]:
    made: list[PrintWorker] = []

    def make(printer: object, on_job: object = None, on_fault: object = None, **kw: object) -> PrintWorker:
        opts = {"idle_poll": 0.05, "fault_poll": 0.1, "watch_poll": 0.02, "confirm_timeout": 1.0} | kw
        w = print_worker(demo_venue[0], printer, **opts)  # type: ignore[arg-type]
        # Listeners go in before the thread starts: a fast first status read must not be missed.
        if on_job is not None:
            w.on_job(on_job)  # type: ignore[arg-type]
        if on_fault is not None:
            w.on_fault(on_fault)  # type: ignore[arg-type]
        made.append(w.start())
        return w

    yield make
    for w in made:
        w.stop()
