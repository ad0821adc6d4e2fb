"""The print worker across kill -9 (each label printed exactly once) and with awkward content from the store:
huge or empty names, every Unicode plane, refusals that roll back, receipts and cancelled jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.adapters.recording_printer import RecordingPrinter
from kiosk.compose_services import print_journal
from kiosk.domain.labels import LabelError
from kiosk.services.printing import JobState
from tests.fixtures.printer import TestPrinterEmulator
from tests.printing.conftest import Venue, job_states, job_states_at, wait_for
from tests.printing.helpers import field_texts

CHILD = """
import sys, time
from datetime import datetime
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.zebra import ZebraPrinter
from kiosk.services.printing import PrintJournal, PrintWorker
from kiosk.compose_services import print_journal, print_worker
store = open_store(sys.argv[1])
journal = print_journal()
if sys.argv[3] == "enqueue":
    with store.write() as conn:
        journal.enqueue(conn, int(sys.argv[4]), now=datetime.fromisoformat(sys.argv[5]))
printer = ZebraPrinter("127.0.0.1", int(sys.argv[2]), read_timeout=0.5, connect_timeout=0.5)
print_worker(store, printer, journal, idle_poll=0.05, fault_poll=0.1, confirm_timeout=60).start()
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
    demo_venue: Venue, db_path: Path, printer_emulator: TestPrinterEmulator, demo_now: datetime
) -> None:
    store, venue = demo_venue
    store.close()
    printer_emulator.configure(paper_out=True)  # the first process can only queue
    first = _child(db_path, printer_emulator.port, "enqueue", str(venue.tickets[0].ticket_id), demo_now.isoformat())
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert job_states_at(db_path) == [JobState.QUEUED]
    printer_emulator.configure(paper_out=False)
    second = _child(db_path, printer_emulator.port, "run")
    try:
        printer_emulator.wait_for_labels(1, timeout=10)
        wait_for(lambda: job_states_at(db_path) == [JobState.CONFIRMED], 10)
        time.sleep(0.5)
        assert len(printer_emulator.received) == 1
    finally:
        second.kill()
        second.wait()


@pytest.mark.slow
def test_killed_while_sending_becomes_unknown_and_is_not_resent(
    demo_venue: Venue, db_path: Path, printer_emulator: TestPrinterEmulator, demo_now: datetime
) -> None:
    store, venue = demo_venue
    store.close()
    printer_emulator.configure(print_seconds=30)  # the label sits in the printer: the job stays "sent"
    first = _child(db_path, printer_emulator.port, "enqueue", str(venue.tickets[0].ticket_id), demo_now.isoformat())
    assert first.stdout is not None and first.stdout.readline().strip() == "ready"
    wait_for(lambda: job_states_at(db_path) == [JobState.SENT] and len(printer_emulator.received) == 1, 10)
    first.send_signal(signal.SIGKILL)  # the label is in the printer, the job is still "sent"
    first.wait()
    printer_emulator.configure(print_seconds=0)
    second = _child(db_path, printer_emulator.port, "run")
    try:
        assert second.stdout is not None and second.stdout.readline().strip() == "ready"
        wait_for(lambda: job_states_at(db_path) == [JobState.UNKNOWN], 10)
        time.sleep(0.5)
        assert len(printer_emulator.received) == 1  # sent once, before the kill; never again
    finally:
        second.kill()
        second.wait()


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
        print_journal().enqueue(conn, ticket.ticket_id, now=demo_now, fmt="cinema", dpi=300)
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
        print_journal().enqueue(conn, cancelled.ticket_id, now=demo_now)
    for ticket, fmt in ((huge, "cinema"), (endless, "show"), (endless, "cinema")):
        with pytest.raises(LayoutError), store.write() as conn:
            print_journal().enqueue(conn, ticket.ticket_id, now=demo_now, fmt=fmt)
    assert job_states(store) == []


def test_receipts_and_cancelled_jobs(demo_venue: Venue, demo_now: datetime, worker_for: object) -> None:
    from decimal import Decimal

    from kiosk.domain.labels import Receipt, ReceiptLine

    store, venue = demo_venue
    journal = print_journal()
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
    wait_for(lambda: job_states(store) == [JobState.FAILED, JobState.CONFIRMED])
    assert len(printer.sent) == 1 and "Quittung" in field_texts(printer.sent[0])
    with store.read() as conn:
        assert journal.get(conn, voided).error == "cancelled: sale voided"  # type: ignore[union-attr]
