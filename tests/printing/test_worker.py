"""The print journal and worker against the emulator: order, faults, unknown outcomes, reprints, restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.adapters.recording_printer import RecordingPrinter
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, open_store
from kiosk.adapters.zebra import PrinterSendError, PrinterUnreachable
from kiosk.demo.venue import DemoVenue
from kiosk.domain.labels import LabelError
from kiosk.services.printing import JobState, JobUpdate, PrintJournal, PrintWorker
from tests.fixtures.printer import TestPrinterEmulator
from tests.printing.helpers import field_texts

Venue = tuple[Store, DemoVenue]


def _enqueue(store: Store, venue: DemoVenue, now: datetime, n: int = 1, **kw: object) -> list[str]:
    journal = PrintJournal()
    with store.write() as conn:
        return [journal.enqueue(conn, tk.ticket_id, now=now, **kw) for tk in venue.tickets[:n]]  # type: ignore[arg-type]


def _states(store: Store) -> list[JobState]:
    with store.read() as conn:
        return [j.state for j in reversed(PrintJournal().jobs(conn))]


def _states_at(db: Path) -> list[JobState]:
    store = open_store(db)
    try:
        return _states(store)
    finally:
        store.close()


def _wait(predicate: object, timeout: float = 10.0) -> None:
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
        w = PrintWorker(demo_venue[0], printer, **opts)  # type: ignore[arg-type]
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


def test_enqueue_is_part_of_the_callers_transaction(demo_venue: Venue, demo_now: datetime) -> None:
    store, venue = demo_venue
    with pytest.raises(RuntimeError), store.write() as conn:
        PrintJournal().enqueue(conn, venue.tickets[0].ticket_id, now=demo_now)
        raise RuntimeError("the sale failed after the job was queued")
    assert _states(store) == []
    with pytest.raises(LabelError, match="not in the store"), store.write() as conn:
        PrintJournal().enqueue(conn, 12345, now=demo_now)


def test_jobs_print_in_order_and_are_confirmed(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    ids = _enqueue(store, venue, demo_now, 5, lang="de")
    updates: list[JobUpdate] = []
    worker_for(printer_emulator.printer(), on_job=updates.append)  # type: ignore[operator]
    labels = printer_emulator.wait_for_labels(5)
    _wait(lambda: _states(store) == [JobState.CONFIRMED] * 5)
    codes = [tk.code for tk in venue.tickets[:5]]
    assert [next(c for c in codes if c in field_texts(z)) for z in labels] == codes  # in queue order
    # Listeners run on the worker's thread after the commit: the last one may come a moment after the row.
    _wait(lambda: sum(u.state is JobState.CONFIRMED for u in updates) >= 5)
    assert [u.job_id for u in updates if u.state is JobState.CONFIRMED] == ids
    with store.read() as conn:
        assert all(j.attempts == 1 and j.last_status == "ready" for j in PrintJournal().jobs(conn))


def test_paper_out_waits_says_why_and_resumes(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(paper_out=True)
    faults: list[str | None] = []
    _enqueue(store, venue, demo_now, 2)
    w = worker_for(printer_emulator.printer(), on_fault=lambda text, _status: faults.append(text))  # type: ignore[operator]
    _wait(lambda: w.last_status is not None and w.last_status.paper_out)
    time.sleep(0.3)
    assert printer_emulator.received == [] and _states(store) == [JobState.QUEUED] * 2  # nothing sent into a fault
    with store.read() as conn:
        assert "paper_out" in PrintJournal().jobs(conn)[-1].last_status  # the oldest job notes why it waits
    printer_emulator.configure(paper_out=False)
    printer_emulator.wait_for_labels(2)
    _wait(lambda: _states(store) == [JobState.CONFIRMED] * 2)
    assert faults[-1] is None and any(f and "Paper out" in f for f in faults)


def test_head_opened_after_sending_keeps_the_job_until_the_label_prints(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(print_seconds=0.3)
    _enqueue(store, venue, demo_now, 1)
    worker_for(printer_emulator.printer(), confirm_timeout=0.5)  # type: ignore[operator]
    _wait(lambda: printer_emulator.formats_in_buffer == 1)
    printer_emulator.configure(head_open=True, print_seconds=0)
    time.sleep(1.0)  # longer than confirm_timeout: time in a reported fault does not count
    printer_emulator.configure(head_open=False)
    printer_emulator.wait_for_labels(1)
    _wait(lambda: _states(store) == [JobState.CONFIRMED])
    assert len(printer_emulator.received) == 1


def test_unreachable_printer_keeps_jobs_queued_then_prints_each_once(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(refuse=True)
    _enqueue(store, venue, demo_now, 3)
    w = worker_for(printer_emulator.printer(connect_timeout=0.3))  # type: ignore[operator]
    _wait(lambda: w.last_status is not None and not w.last_status.reachable)
    time.sleep(0.3)
    assert _states(store) == [JobState.QUEUED] * 3
    printer_emulator.configure(refuse=False)
    printer_emulator.wait_for_labels(3)
    _wait(lambda: _states(store) == [JobState.CONFIRMED] * 3)
    time.sleep(0.2)
    assert len(printer_emulator.received) == 3


def test_very_slow_printer_is_not_ready_and_nothing_is_sent(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(slow=0.8)
    _enqueue(store, venue, demo_now, 1)
    faults: list[str | None] = []
    worker_for(printer_emulator.printer(read_timeout=0.3), on_fault=lambda text, _s: faults.append(text))  # type: ignore[operator]
    _wait(lambda: bool(faults))
    assert faults[0] and "does not answer" in faults[0]
    assert _states(store) == [JobState.QUEUED] and printer_emulator.received == []
    printer_emulator.configure(slow=0)
    printer_emulator.wait_for_labels(1)
    _wait(lambda: _states(store) == [JobState.CONFIRMED])
    assert len(printer_emulator.received) == 1 and faults[-1] is None


def test_connection_closed_mid_label_is_unknown_and_never_printed_again(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(drop=True)
    _enqueue(store, venue, demo_now, 1)
    updates: list[JobUpdate] = []
    w = worker_for(printer_emulator.printer(read_timeout=0.4), on_job=updates.append)  # type: ignore[operator]
    _wait(lambda: JobState.UNKNOWN in _states(store), 10)
    printer_emulator.reset()
    journal = PrintJournal()
    with store.write() as conn:
        journal.enqueue(conn, venue.tickets[1].ticket_id, now=demo_now)
    w.wake()
    _wait(lambda: _states(store) == [JobState.UNKNOWN, JobState.CONFIRMED], 10)
    time.sleep(0.5)
    assert printer_emulator.dropped == 1  # the unknown job was tried once and never again
    assert [venue.tickets[1].code in field_texts(r.zpl) for r in printer_emulator.received] == [True]
    assert any(u.state is JobState.UNKNOWN and u.detail for u in updates)


def test_garbage_status_keeps_jobs_queued(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(garbage=True)
    _enqueue(store, venue, demo_now, 1)
    faults: list[str | None] = []
    worker_for(printer_emulator.printer(), on_fault=lambda text, _s: faults.append(text))  # type: ignore[operator]
    _wait(lambda: bool(faults))
    assert faults[0] and "does not answer" in faults[0]
    assert _states(store) == [JobState.QUEUED] and printer_emulator.received == []


def test_reprint_is_marked_logged_and_in_the_outbox(
    demo_venue: Venue,
    demo_now: datetime,
    printer_emulator: TestPrinterEmulator,
    worker_for: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, venue = demo_venue
    [job] = _enqueue(store, venue, demo_now, 1, lang="it")
    w = worker_for(printer_emulator.printer())  # type: ignore[operator]
    printer_emulator.wait_for_labels(1)
    journal = PrintJournal()
    with store.write() as conn:
        second = journal.reprint(conn, job, demo_now, device_id="kiosk-1", reason="paper jam")
        third = journal.reprint(conn, second, demo_now, device_id="kiosk-1")
    w.wake()
    labels = printer_emulator.wait_for_labels(3)
    assert "Ristampa 2" in field_texts(labels[1]) and "Ristampa 3" in field_texts(labels[2])
    assert not any("Ristampa" in t for t in field_texts(labels[0]))
    with store.read() as conn:
        rows = conn.execute(select(t.outbox).where(t.outbox.c.kind == "reprint").order_by(t.outbox.c.seq)).all()
    assert [r.event_id for r in rows] == [second, third]
    payload = json.loads(rows[0].payload)
    assert payload["copy"] == 2 and payload["reprint_of"] == job and payload["device_id"] == "kiosk-1"
    assert "reprint: ticket" in caplog.text and "paper jam" in caplog.text


def test_recording_printer_twin_drives_the_same_worker(
    demo_venue: Venue, demo_now: datetime, worker_for: object
) -> None:
    store, venue = demo_venue
    printer = RecordingPrinter()
    printer.send_errors.extend([PrinterUnreachable("off"), PrinterSendError("cable pulled")])
    _enqueue(store, venue, demo_now, 2)
    worker_for(printer)  # type: ignore[operator]
    _wait(lambda: _states(store) == [JobState.UNKNOWN, JobState.CONFIRMED])
    assert len(printer.sent) == 1  # first: unreachable (retried), then unknown (not retried); second printed
    with store.read() as conn:
        assert [j.attempts for j in reversed(PrintJournal().jobs(conn))] == [2, 1]


CHILD = """
import sys, time
from datetime import UTC, datetime
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.zebra import ZebraPrinter
from kiosk.services.printing import PrintJournal, PrintWorker
store = open_store(sys.argv[1])
journal = PrintJournal()
if sys.argv[3] == "enqueue":
    with store.write() as conn:
        journal.enqueue(conn, int(sys.argv[4]), now=datetime.now(UTC))
printer = ZebraPrinter("127.0.0.1", int(sys.argv[2]), read_timeout=0.5, connect_timeout=0.5)
PrintWorker(store, printer, journal, idle_poll=0.05, fault_poll=0.1, confirm_timeout=60).start()
print("ready", flush=True)
time.sleep(60)
"""


def _child(db: Path, port: int, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(port), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )


@pytest.mark.slow
def test_job_queued_then_killed_prints_exactly_once_after_restart(
    demo_venue: Venue, db_path: Path, printer_emulator: TestPrinterEmulator
) -> None:
    store, venue = demo_venue
    store.close()
    printer_emulator.configure(paper_out=True)  # the first process can only queue
    first = _child(db_path, printer_emulator.port, "enqueue", str(venue.tickets[0].ticket_id))
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert _states_at(db_path) == [JobState.QUEUED]
    printer_emulator.configure(paper_out=False)
    second = _child(db_path, printer_emulator.port, "run")
    try:
        printer_emulator.wait_for_labels(1, timeout=10)
        _wait(lambda: _states_at(db_path) == [JobState.CONFIRMED], 10)
        time.sleep(0.5)
        assert len(printer_emulator.received) == 1
    finally:
        second.kill()
        second.wait()


@pytest.mark.slow
def test_killed_while_sending_becomes_unknown_and_is_not_resent(
    demo_venue: Venue, db_path: Path, printer_emulator: TestPrinterEmulator
) -> None:
    store, venue = demo_venue
    store.close()
    printer_emulator.configure(print_seconds=30)  # the label sits in the printer: the job stays "sent"
    first = _child(db_path, printer_emulator.port, "enqueue", str(venue.tickets[0].ticket_id))
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    _wait(lambda: _states_at(db_path) == [JobState.SENT] and len(printer_emulator.received) == 1, 10)
    first.send_signal(signal.SIGKILL)  # the label is in the printer, the job is still "sent"
    first.wait()
    printer_emulator.configure(print_seconds=0)
    second = _child(db_path, printer_emulator.port, "run")
    try:
        assert second.stdout is not None and second.stdout.readline().strip() == "ready"
        _wait(lambda: _states_at(db_path) == [JobState.UNKNOWN], 10)
        time.sleep(0.5)
        assert len(printer_emulator.received) == 1  # sent once, before the kill; never again
    finally:
        second.kill()
        second.wait()


def test_worker_stop_is_prompt(demo_venue: Venue, worker_for: object) -> None:
    w = worker_for(RecordingPrinter(), idle_poll=5.0)  # type: ignore[operator]
    t0 = time.monotonic()
    w.stop()
    assert time.monotonic() - t0 < 1.0


WOLFE = "Hubert Blaine Wolfeschlegelsteinhausenbergerdorff Müller-Lüdenscheidt ß € " * 7  # 500+ characters
PLANES = "A é Ω 中 😀 𠀀 𰀀 x\U000e0100 \U000f0000 \U00100000 ^XA~JR\x00"


@pytest.mark.parametrize("holder", [WOLFE, "", None, PLANES], ids=["500chars", "empty", "none", "planes"])
def test_awkward_names_from_the_store_print_and_scan(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object, holder: str | None
) -> None:
    from dataclasses import replace

    from kiosk.adapters.store.repositories import SqlTicketStore
    from tests.printing.helpers import decode, raster

    store, venue = demo_venue
    ticket = replace(venue.tickets[1], holder_name=holder)
    with store.write() as conn:
        SqlTicketStore().upsert(conn, [ticket])
        PrintJournal().enqueue(conn, ticket.ticket_id, now=demo_now, fmt="cinema", dpi=300)
    worker_for(printer_emulator.printer())  # type: ignore[operator]
    [zpl] = printer_emulator.wait_for_labels(1)
    assert printer_emulator.controls == [] and zpl.count(b"^XA") == 1
    assert decode(raster(zpl, 300))["QRCode"] == ticket.code
    if holder == WOLFE:
        assert any(t.endswith("...") and t.startswith("Hubert") for t in field_texts(zpl))


def test_cancelled_ticket_and_overflowing_layout_are_refused_and_roll_back(
    demo_venue: Venue, demo_now: datetime
) -> None:
    from dataclasses import replace

    from kiosk.adapters.store.repositories import SqlTicketStore
    from kiosk.adapters.zpl import LayoutError
    from kiosk.domain.model import TicketStatus

    store, venue = demo_venue
    cancelled = replace(venue.tickets[0], status=TicketStatus.CANCELLED)
    huge = replace(venue.tickets[1], code="Q" * 1500)  # a QR too big for the cinema label at a scannable size
    endless = replace(venue.tickets[2], code="Q" * 5000)  # more than any QR can hold
    with store.write() as conn:
        SqlTicketStore().upsert(conn, [cancelled, huge, endless])
    with pytest.raises(LabelError, match="cancelled"), store.write() as conn:
        PrintJournal().enqueue(conn, cancelled.ticket_id, now=demo_now)
    for ticket, fmt in ((huge, "cinema"), (endless, "show"), (endless, "cinema")):
        with pytest.raises(LayoutError), store.write() as conn:
            PrintJournal().enqueue(conn, ticket.ticket_id, now=demo_now, fmt=fmt)
    assert _states(store) == []


def test_receipts_and_cancelled_jobs(demo_venue: Venue, demo_now: datetime, worker_for: object) -> None:
    from decimal import Decimal

    from kiosk.domain.labels import Receipt, ReceiptLine

    store, venue = demo_venue
    journal = PrintJournal()
    receipt = Receipt(
        "Théâtre", "ORD-9", demo_now, [ReceiptLine("Plein tarif", Decimal("45"))], Decimal("45"), "TWINT", "de"
    )
    with store.write() as conn:
        voided = journal.enqueue(conn, venue.tickets[0].ticket_id, now=demo_now)
        journal.enqueue_receipt(conn, receipt, now=demo_now)
        assert journal.cancel(conn, voided, demo_now, "sale voided")
        assert not journal.cancel(conn, voided, demo_now, "twice")
    printer = RecordingPrinter()
    worker_for(printer)  # type: ignore[operator]
    _wait(lambda: _states(store) == [JobState.FAILED, JobState.CONFIRMED])
    assert len(printer.sent) == 1 and "Quittung" in field_texts(printer.sent[0])
    with store.read() as conn:
        assert journal.get(conn, voided).error == "cancelled: sale voided"  # type: ignore[union-attr]
