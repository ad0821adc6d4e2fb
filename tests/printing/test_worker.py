"""The print journal and worker against the emulator: order, faults, unknown outcomes, reprints, stopping."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from kiosk.adapters.recording_printer import RecordingPrinter
from kiosk.adapters.store import tables as t
from kiosk.adapters.zebra import PrinterSendError, PrinterUnreachable
from kiosk.compose_services import print_journal
from kiosk.domain.labels import LabelError
from kiosk.services.printing import JobState, JobUpdate
from tests.fixtures.printer import TestPrinterEmulator
from tests.printing.conftest import Venue, enqueue_jobs, job_states, wait_for
from tests.printing.helpers import field_texts


def test_enqueue_is_part_of_the_callers_transaction(demo_venue: Venue, demo_now: datetime) -> None:
    store, venue = demo_venue
    with pytest.raises(RuntimeError), store.write() as conn:
        print_journal().enqueue(conn, venue.tickets[0].ticket_id, now=demo_now)
        raise RuntimeError("the sale failed after the job was queued")
    assert job_states(store) == []
    with pytest.raises(LabelError, match="not in the store"), store.write() as conn:
        print_journal().enqueue(conn, 12345, now=demo_now)


def test_jobs_print_in_order_and_are_confirmed(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    ids = enqueue_jobs(store, venue, demo_now, 5, lang="de")
    updates: list[JobUpdate] = []
    worker_for(printer_emulator.printer(), on_job=updates.append)  # type: ignore[operator]
    labels = printer_emulator.wait_for_labels(5)
    wait_for(lambda: job_states(store) == [JobState.CONFIRMED] * 5)
    codes = [tk.code for tk in venue.tickets[:5]]
    assert [next(c for c in codes if c in field_texts(z)) for z in labels] == codes  # in queue order
    # Listeners run on the worker's thread after the commit: the last one may come a moment after the row.
    wait_for(lambda: sum(u.state is JobState.CONFIRMED for u in updates) >= 5)
    assert [u.job_id for u in updates if u.state is JobState.CONFIRMED] == ids
    with store.read() as conn:
        assert all(j.attempts == 1 and j.last_status == "ready" for j in print_journal().jobs(conn))


def test_paper_out_waits_says_why_and_resumes(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(paper_out=True)
    faults: list[str | None] = []
    enqueue_jobs(store, venue, demo_now, 2)
    w = worker_for(printer_emulator.printer(), on_fault=lambda text, _status: faults.append(text))  # type: ignore[operator]
    wait_for(lambda: w.last_status is not None and w.last_status.paper_out)
    time.sleep(0.3)
    assert printer_emulator.received == [] and job_states(store) == [JobState.QUEUED] * 2  # nothing sent into a fault
    with store.read() as conn:
        assert "paper_out" in print_journal().jobs(conn)[-1].last_status  # the oldest job notes why it waits
    printer_emulator.configure(paper_out=False)
    printer_emulator.wait_for_labels(2)
    wait_for(lambda: job_states(store) == [JobState.CONFIRMED] * 2)
    assert faults[-1] is None and any(f and "Paper out" in f for f in faults)


def test_head_opened_after_sending_keeps_the_job_until_the_label_prints(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(print_seconds=0.3)
    enqueue_jobs(store, venue, demo_now, 1)
    worker_for(printer_emulator.printer(), confirm_timeout=0.5)  # type: ignore[operator]
    wait_for(lambda: printer_emulator.formats_in_buffer == 1)
    printer_emulator.configure(head_open=True, print_seconds=0)
    time.sleep(1.0)  # longer than confirm_timeout: time in a reported fault does not count
    printer_emulator.configure(head_open=False)
    printer_emulator.wait_for_labels(1)
    wait_for(lambda: job_states(store) == [JobState.CONFIRMED])
    assert len(printer_emulator.received) == 1


def test_unreachable_printer_keeps_jobs_queued_then_prints_each_once(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(refuse=True)
    enqueue_jobs(store, venue, demo_now, 3)
    w = worker_for(printer_emulator.printer(connect_timeout=0.3))  # type: ignore[operator]
    wait_for(lambda: w.last_status is not None and not w.last_status.reachable)
    time.sleep(0.3)
    assert job_states(store) == [JobState.QUEUED] * 3
    printer_emulator.configure(refuse=False)
    printer_emulator.wait_for_labels(3)
    wait_for(lambda: job_states(store) == [JobState.CONFIRMED] * 3)
    time.sleep(0.2)
    assert len(printer_emulator.received) == 3


def test_very_slow_printer_is_not_ready_and_nothing_is_sent(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(slow=0.8)
    enqueue_jobs(store, venue, demo_now, 1)
    faults: list[str | None] = []
    worker_for(printer_emulator.printer(read_timeout=0.3), on_fault=lambda text, _s: faults.append(text))  # type: ignore[operator]
    wait_for(lambda: bool(faults))
    assert faults[0] and "does not answer" in faults[0]
    assert job_states(store) == [JobState.QUEUED] and printer_emulator.received == []
    printer_emulator.configure(slow=0)
    printer_emulator.wait_for_labels(1)
    wait_for(lambda: job_states(store) == [JobState.CONFIRMED])
    assert len(printer_emulator.received) == 1 and faults[-1] is None


def test_connection_closed_mid_label_is_unknown_and_never_printed_again(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(drop=True)
    enqueue_jobs(store, venue, demo_now, 1)
    updates: list[JobUpdate] = []
    w = worker_for(printer_emulator.printer(read_timeout=0.4), on_job=updates.append)  # type: ignore[operator]
    wait_for(lambda: JobState.UNKNOWN in job_states(store), 10)
    printer_emulator.reset()
    journal = print_journal()
    with store.write() as conn:
        journal.enqueue(conn, venue.tickets[1].ticket_id, now=demo_now)
    w.wake()
    wait_for(lambda: job_states(store) == [JobState.UNKNOWN, JobState.CONFIRMED], 10)
    time.sleep(0.5)
    assert printer_emulator.dropped == 1  # the unknown job was tried once and never again
    assert [venue.tickets[1].code in field_texts(r.zpl) for r in printer_emulator.received] == [True]
    assert any(u.state is JobState.UNKNOWN and u.detail for u in updates)


def test_garbage_status_keeps_jobs_queued(
    demo_venue: Venue, demo_now: datetime, printer_emulator: TestPrinterEmulator, worker_for: object
) -> None:
    store, venue = demo_venue
    printer_emulator.configure(garbage=True)
    enqueue_jobs(store, venue, demo_now, 1)
    faults: list[str | None] = []
    worker_for(printer_emulator.printer(), on_fault=lambda text, _s: faults.append(text))  # type: ignore[operator]
    wait_for(lambda: bool(faults))
    assert faults[0] and "does not answer" in faults[0]
    assert job_states(store) == [JobState.QUEUED] and printer_emulator.received == []


def test_reprint_is_marked_logged_and_in_the_outbox(
    demo_venue: Venue,
    demo_now: datetime,
    printer_emulator: TestPrinterEmulator,
    worker_for: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, venue = demo_venue
    [job] = enqueue_jobs(store, venue, demo_now, 1, lang="it")
    w = worker_for(printer_emulator.printer())  # type: ignore[operator]
    printer_emulator.wait_for_labels(1)
    journal = print_journal()
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
    enqueue_jobs(store, venue, demo_now, 2)
    worker_for(printer)  # type: ignore[operator]
    wait_for(lambda: job_states(store) == [JobState.UNKNOWN, JobState.CONFIRMED])
    assert len(printer.sent) == 1  # first: unreachable (retried), then unknown (not retried); second printed
    with store.read() as conn:
        assert [j.attempts for j in reversed(print_journal().jobs(conn))] == [2, 1]


def test_worker_stop_is_prompt(demo_venue: Venue, worker_for: object) -> None:
    w = worker_for(RecordingPrinter(), idle_poll=5.0)  # type: ignore[operator]
    t0 = time.monotonic()
    w.stop()
    assert time.monotonic() - t0 < 1.0
