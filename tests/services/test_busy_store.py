"""A store locked past its busy timeout stops no loop: the camera pipeline, the print worker and the UI worker retry
with backoff, count it for the technician, and go on (issue 11 #8). The lock is a real second SQLite connection."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from kiosk.adapters.camera import FakeFrameSource
from kiosk.adapters.decoder import FakeDecoder
from kiosk.adapters.recording_printer import RecordingPrinter
from kiosk.adapters.store.engine import Store, StoreBusy, open_store
from kiosk.compose_services import print_journal, scanning_service
from kiosk.demo.venue import DemoVenue
from kiosk.domain.verdicts import VerdictCode
from kiosk.services.printing import JobState, PrintWorker
from kiosk.services.scanner_pipeline import ScanEvent, ScannerPipeline
from kiosk.services.store_retry import Backoff, BusyMeter, retry_store

QUICK = Backoff(attempts=40, first=0.02, cap=0.1)


class Locker:
    """Another process's write lock on the store file (as a backup or a sqlite3 shell would hold it)."""

    def __init__(self, db: Path) -> None:
        self._conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)

    def hold(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self._conn.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


class CountingMeter(BusyMeter):
    """Sets `enough` once `n` retries were counted, so the test releases the lock only after real retries."""

    def __init__(self, n: int = 2) -> None:
        super().__init__()
        self.enough = threading.Event()
        self._n = n

    def retried(self, exc: BaseException) -> None:
        super().retried(exc)
        if self.view().retries >= self._n:
            self.enough.set()


@pytest.fixture
def impatient(demo_venue: tuple[Store, DemoVenue], db_path: Path) -> Iterator[Store]:
    store = open_store(db_path, busy_timeout_ms=100)  # the same file, giving up on a lock after 0.1 s
    yield store
    store.close()


@pytest.fixture
def locker(impatient: Store, db_path: Path) -> Iterator[Locker]:
    lock = Locker(db_path)
    yield lock
    lock.close()


def test_the_pipeline_waits_out_a_lock_longer_than_the_busy_timeout_and_keeps_scanning(
    demo_venue: tuple[Store, DemoVenue], impatient: Store, locker: Locker, demo_now: datetime
) -> None:
    venue = demo_venue[1]
    first, second = [c for c, v in venue.expected if v == "valid" and not c.startswith("K1")][:2]
    service = scanning_service(impatient, "door-a", clock=lambda: demo_now, debounce=timedelta(0))
    events: list[ScanEvent] = []
    decoder = FakeDecoder([[first], [], [], [second]])
    source = FakeFrameSource([np.zeros((16, 16), np.uint8)] * 4)
    pipeline = ScannerPipeline(source, decoder, service.scan, events.append, backoff=QUICK)
    meter = pipeline.busy = CountingMeter(3)
    locker.hold()
    pipeline.start()
    try:
        assert meter.enough.wait(10), "the scan was not retried"
        locker.release()
        assert pipeline.wait_done(10)
    finally:
        pipeline.stop()
    assert [e.error for e in events] == [None, None]
    assert [e.result.verdict.code for e in events if e.result] == [VerdictCode.VALID, VerdictCode.VALID]
    status = pipeline.status()
    assert status.store_retries >= 3 and status.store_gave_up == 0


def test_a_lock_outlasting_every_retry_is_shown_as_an_error_and_the_next_scan_works(
    demo_venue: tuple[Store, DemoVenue], impatient: Store, locker: Locker, demo_now: datetime
) -> None:
    service = scanning_service(impatient, "door-a", clock=lambda: demo_now, debounce=timedelta(0))
    gate = threading.Event()  # the second code is read only after the lock is gone

    def scan_after_release(text: str, g: str, d: object) -> object:
        if text == "B2":
            assert gate.wait(10)
        return service.scan(text, g, d)  # type: ignore[arg-type]

    events: list[ScanEvent] = []

    def on_scan(event: ScanEvent) -> None:
        events.append(event)
        if len(events) == 1:
            locker.release()
            gate.set()

    decoder = FakeDecoder([["A1"], [], ["B2"]])
    source = FakeFrameSource([np.zeros((16, 16), np.uint8)] * 3)
    pipeline = ScannerPipeline(source, decoder, scan_after_release, on_scan, backoff=Backoff(attempts=2, first=0.01))  # type: ignore[arg-type]
    locker.hold()
    pipeline.start()
    try:
        assert pipeline.wait_done(10)
    finally:
        pipeline.stop()
    assert events[0].error is not None and "locked" in events[0].error
    assert events[1].error is None and events[1].result is not None
    assert pipeline.status().store_gave_up == 1


class LockingPrinter(RecordingPrinter):
    """Prints, then lets another connection take the store's write lock before the outcome is recorded."""

    locker: Locker | None = None

    def send(self, data: bytes) -> object:  # type: ignore[override]
        after = super().send(data)
        if self.locker is not None:
            self.locker.hold()
        return after


def test_the_print_worker_records_a_printed_label_after_the_lock_is_gone_and_prints_it_once(
    demo_venue: tuple[Store, DemoVenue], impatient: Store, locker: Locker, demo_now: datetime
) -> None:
    venue = demo_venue[1]
    journal = print_journal()
    with impatient.write() as conn:
        job = journal.enqueue(conn, venue.tickets[0].ticket_id, now=demo_now)
    printer = LockingPrinter()
    printer.locker = locker
    worker = PrintWorker(impatient, printer, journal, clock=lambda: demo_now, idle_poll=0.05, backoff=QUICK)
    meter = worker.store_busy = CountingMeter(2)
    worker.start()
    try:
        assert meter.enough.wait(10), "the outcome write was not retried"
        locker.release()
        done = threading.Event()
        worker.on_job(lambda u: done.set() if u.state is JobState.CONFIRMED else None)
        assert done.wait(10)
    finally:
        worker.stop()
    with impatient.read() as conn:
        assert [(j.job_id, j.state) for j in journal.jobs(conn)] == [(job, JobState.CONFIRMED)]
    assert len(printer.sent) == 1
    assert worker.store_busy.view().gave_up == 0


def test_retry_store_repeats_only_busy_errors_and_stops_when_asked() -> None:
    calls: list[int] = []

    def busy() -> None:
        calls.append(1)
        raise StoreBusy("locked")

    stop = threading.Event()
    stop.set()
    with pytest.raises(StoreBusy):
        retry_store(busy, backoff=Backoff(attempts=5, first=0.01), wait=stop.wait)
    assert len(calls) == 2  # the first try, then one last try once the stop was seen
    with pytest.raises(ValueError):
        retry_store(lambda: (_ for _ in ()).throw(ValueError("x")), backoff=QUICK)


def test_the_ui_worker_retries_a_busy_store_and_counts_it(impatient: Store, locker: Locker) -> None:
    from kiosk.ui.workers import Worker  # Kivy's clock only; no window is opened

    worker = Worker(threads=1, backoff=QUICK)
    meter = worker.store_busy = CountingMeter(2)

    def count_meta() -> int:
        with impatient.write() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM meta").scalar_one())

    locker.hold()
    try:
        future = worker.submit(count_meta)
        assert meter.enough.wait(10)
        locker.release()
        assert future.result(10) >= 0
    finally:
        worker.shutdown()
    assert meter.view().retries >= 2 and meter.view().gave_up == 0


class GaveUpMeter(BusyMeter):
    """Sets `gave_up` once `n` accesses stayed busy through every retry."""

    def __init__(self, n: int = 2) -> None:
        super().__init__()
        self.gave_up = threading.Event()
        self._n = n

    def failed(self) -> None:
        super().failed()
        if self.view().gave_up >= self._n:
            self.gave_up.set()


class LockingStatusPrinter(RecordingPrinter):
    """Lets another connection take the store's write lock when first asked its status: before the job's `sent`."""

    locker: Locker | None = None

    def status(self) -> object:  # type: ignore[override]
        if self.locker is not None:
            self.locker.hold()
            self.locker = None
        return super().status()


def test_the_print_worker_outlives_a_lock_longer_than_every_retry_and_prints_the_job_once_after(
    demo_venue: tuple[Store, DemoVenue], impatient: Store, locker: Locker, demo_now: datetime
) -> None:
    venue = demo_venue[1]
    journal = print_journal()
    with impatient.write() as conn:
        job = journal.enqueue(conn, venue.tickets[0].ticket_id, now=demo_now)
    printer = LockingStatusPrinter()
    printer.locker = locker
    worker = PrintWorker(impatient, printer, journal, clock=lambda: demo_now, idle_poll=0.05, fault_poll=0.05,
                         backoff=Backoff(attempts=2, first=0.01))  # fmt: skip
    meter = worker.store_busy = GaveUpMeter(2)
    worker.start()
    try:
        assert meter.gave_up.wait(10), "the print worker did not try the busy store again after giving up"
        assert worker._thread is not None and worker._thread.is_alive()
        assert printer.sent == []  # never sent without the durable 'sent' mark
        locker.release()
        done = threading.Event()
        worker.on_job(lambda u: done.set() if u.state is JobState.CONFIRMED else None)
        assert done.wait(10)
    finally:
        worker.stop()
    with impatient.read() as conn:
        assert [(j.job_id, j.state) for j in journal.jobs(conn)] == [(job, JobState.CONFIRMED)]
    assert len(printer.sent) == 1


def test_the_ui_worker_reports_a_lock_longer_than_every_retry_and_runs_the_next_task(
    impatient: Store, locker: Locker
) -> None:
    from kiosk.ui.workers import Worker  # Kivy's clock only; no window is opened

    worker = Worker(threads=1, backoff=Backoff(attempts=2, first=0.01))

    def count_meta() -> int:
        with impatient.write() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM meta").scalar_one())

    locker.hold()
    try:
        gave_up = worker.submit(count_meta)
        assert isinstance(gave_up.exception(10), StoreBusy) or "locked" in str(gave_up.exception(10))
    finally:
        locker.release()
    try:
        assert worker.submit(count_meta).result(10) >= 0  # the same pool thread goes on
    finally:
        worker.shutdown()
    assert worker.store_busy.view().gave_up == 1


def test_the_print_worker_starts_behind_a_lock_and_recovers_the_interrupted_job_once_free(
    demo_venue: tuple[Store, DemoVenue], impatient: Store, locker: Locker, demo_now: datetime
) -> None:
    """A kiosk restarting while a backup holds the store: start() must not raise, recovery waits for the lock."""
    venue = demo_venue[1]
    journal = print_journal()
    with impatient.write() as conn:
        job = journal.enqueue(conn, venue.tickets[0].ticket_id, now=demo_now)
        journal.mark(conn, job, JobState.SENT, demo_now, attempt=True)  # the kiosk stopped mid-send
    worker = PrintWorker(impatient, RecordingPrinter(), journal, clock=lambda: demo_now, idle_poll=0.05,
                         fault_poll=0.05, backoff=Backoff(attempts=2, first=0.01))  # fmt: skip
    meter = worker.store_busy = GaveUpMeter(2)
    locker.hold()
    try:
        worker.start()  # used to raise StoreBusy here, and the kiosk did not start
        assert meter.gave_up.wait(10), "recovery was not retried after giving up"
        assert worker._thread is not None and worker._thread.is_alive()
    finally:
        locker.release()

    def recovered() -> bool:
        with impatient.read() as conn:
            return [(j.job_id, j.state) for j in journal.jobs(conn)] == [(job, JobState.UNKNOWN)]

    try:
        deadline = threading.Event()
        for _ in range(200):
            if recovered():
                break
            deadline.wait(0.05)
        assert recovered()
    finally:
        worker.stop()
