"""The screens' view of printing: the print journal + worker (kiosk.services.printing) behind `PrintingPort`.

Sale labels are rendered and journalled inside the sale's transaction (`SaleLabels.enqueue_sale`); the worker
prints them after the commit and the sales screen polls `jobs()` to show progress and the printer's problem.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.compose import JobsView, PrinterView
from kiosk.services.printing import JobState, PrintJournal, PrintWorker

log = logging.getLogger(__name__)

# The printer's fault names (kiosk.adapters.zebra.PrinterStatus.faults) → the state words the screens translate.
FAULT_STATE = {
    "no_answer": "unreachable",
    "paper_out": "paper_out",
    "head_open": "head_open",
    "ribbon_out": "ribbon_out",
    "paused": "paused",
    "over_temperature": "too_hot",
    "buffer_full": "slow",
}


def state_of(status: Any) -> str:
    if status is None:
        return ""
    faults = tuple(status.faults)
    if not faults:
        return "ready"
    return FAULT_STATE.get(faults[0], "error")


class SaleLabels:
    """Journals one label per sold ticket inside the sale's transaction (LabelQueue for SellingService)."""

    def __init__(self, journal: PrintJournal) -> None:
        self.journal = journal

    def enqueue_sale(self, conn: Any, receipt: Any, catalog: Any, lang: str) -> list[str]:
        return [self.journal.enqueue(conn, x.ticket_id, now=receipt.sold_at, lang=lang) for x in receipt.tickets]


class JournalPrinting:
    """PrintingPort over a PrintJournal and a running PrintWorker (and the emulator it owns in the demo)."""

    def __init__(self, store: Store, worker: PrintWorker, journal: PrintJournal, emulator: Any = None) -> None:
        self._store = store
        self.worker = worker
        self.journal = journal
        self.emulator = emulator
        self.labels = SaleLabels(journal)

    def printer(self) -> PrinterView:
        status = self.worker.printer.status()
        return PrinterView(state_of(status), getattr(status, "detail", ""))

    def wake(self) -> None:
        self.worker.wake()

    def jobs(self, job_ids: tuple[str, ...]) -> JobsView:
        with self._store.read() as conn:
            jobs = [self.journal.get(conn, j) for j in job_ids]
        printed = sum(1 for j in jobs if j is not None and j.state is JobState.CONFIRMED)
        failed = any(j is None or j.state in (JobState.FAILED, JobState.UNKNOWN) for j in jobs)
        problem = ""
        if printed < len(job_ids):
            state = state_of(self.worker.last_status)
            problem = "" if state in ("ready", "") else state
            if failed and not problem:
                problem = "error"
        return JobsView(len(job_ids), printed, problem, failed)

    def test_print(self) -> None:
        from kiosk.domain.labels import Receipt, ReceiptLine

        now = datetime.now(UTC)
        receipt = Receipt(
            "Test", "TEST", now, [ReceiptLine("Test print / Testdruck", Decimal("0.00"))], Decimal(0), "-", "en"
        )
        with self._store.write() as conn:
            self.journal.enqueue_receipt(conn, receipt, now=now)
        self.worker.wake()

    def preview_png(self, out: Path, lang: str) -> Path | None:
        """A PNG of a real label from the store (the newest sold ticket, else any ticket with a code)."""
        from kiosk.adapters.store.repositories import SqlCatalogStore, SqlTicketStore
        from kiosk.adapters.zpl import render_png, render_ticket
        from kiosk.domain.labels import ticket_label

        with self._store.read() as conn:
            row = conn.execute(
                select(t.tickets.c.ticket_id)
                .where(t.tickets.c.code.is_not(None), t.tickets.c.performance_id.is_not(None))
                .order_by((t.tickets.c.source == "sale").desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            ticket = SqlTicketStore().by_id(conn, row.ticket_id)
            catalog = SqlCatalogStore().load(conn)
        assert ticket is not None
        rendered = render_ticket(
            ticket_label(ticket, catalog, lang), self.journal.default_format, self.journal.default_dpi
        )
        out.write_bytes(render_png(rendered.zpl, self.journal.default_dpi))
        return out

    def close(self) -> None:
        self.worker.stop(timeout=2.0)
        if self.emulator is not None:
            self.emulator.stop()


def demo_printing(workdir: Path, store: Store) -> JournalPrinting:
    """The printer emulator in-process on a free loopback port, saving labels (ZPL + PNG) under workdir/printed."""
    from kiosk.adapters.zebra import ZebraPrinter
    from kiosk.demo.printer_emulator import PrinterEmulator

    emulator = PrinterEmulator(out_dir=workdir / "printed", png=True).start()
    printer = ZebraPrinter("127.0.0.1", emulator.port, connect_timeout=1.0, read_timeout=1.0, name="demo-emulator")
    journal = PrintJournal()
    worker = PrintWorker(store, printer, journal, idle_poll=0.2, fault_poll=0.5).start()
    return JournalPrinting(store, worker, journal, emulator)


def configured_printing(config: Any, store: Store) -> JournalPrinting:
    """The configured Zebra: raw TCP to host:port, or through a CUPS raw queue."""
    from kiosk.adapters.zebra import ZebraPrinter

    p = config.printer
    printer: Any
    if p.transport == "cups":
        from kiosk.adapters.cups_printer import CupsPrinter

        printer = CupsPrinter(p.cups_queue)
    else:
        printer = ZebraPrinter(p.host, p.port)
    journal = PrintJournal(p.format, p.dpi)
    worker = PrintWorker(store, printer, journal).start()
    return JournalPrinting(store, worker, journal)
