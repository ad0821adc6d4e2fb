"""The screens' view of printing: the print journal + worker (kiosk.services.printing) behind `PrintingPort`.

Sale labels are rendered and journalled inside the sale's transaction (`SaleLabels.enqueue_sale`); the worker
prints them after the commit and the sales screen polls `jobs()` to show progress and the printer's problem.
Which printer, and how a label preview is drawn, is kiosk.compose's choice: this module only adapts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from kiosk.domain.catalog import Catalog
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.labels import TicketLabel, format_when
from kiosk.domain.printer import PrinterStatus
from kiosk.domain.receipts import SaleReceipt
from kiosk.locales import N_, translator
from kiosk.services.ports import JobsView, PrinterView, StorePort, Tx
from kiosk.services.printing import JobState, PrintJournal, PrintWorker

log = logging.getLogger(__name__)

# The printer's fault names (kiosk.domain.printer.PrinterStatus.faults) → the state words the screens translate.
FAULT_STATE = {
    "no_answer": "unreachable",
    "paper_out": "paper_out",
    "head_open": "head_open",
    "ribbon_out": "ribbon_out",
    "paused": "paused",
    "over_temperature": "too_hot",
    "buffer_full": "slow",
}

TEST_CODE = "TEST-PRINT"  # what its bar codes carry: a door reads it as unknown, never as a ticket

# (out file, language) → the PNG written, or None when the store has no ticket to show (see kiosk.compose_printing).
LabelPreview = Callable[[Path, str], Path | None]


def test_label(now: datetime, lang: str, fmt: str, dpi: int) -> TicketLabel:
    """The technician's test print: laid out like a ticket, so it shows what this stock and printer will give."""
    tr = translator().tr
    stock = tr(N_("Label stock: {format}, {dpi} dpi"), lang).format(format=fmt, dpi=dpi)
    return TicketLabel(
        TEST_CODE, tr(N_("Test print"), lang), format_when(now, lang), stock, tr(N_("Not a ticket"), lang),
        "", "", "", lang,
    )  # fmt: skip


class Stoppable(Protocol):
    def stop(self) -> None: ...


def state_of(status: PrinterStatus | None) -> str:
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

    def enqueue_sale(self, conn: Tx, receipt: SaleReceipt, catalog: Catalog, lang: str) -> list[str]:
        return [self.journal.enqueue(conn, x.ticket_id, now=receipt.sold_at, lang=lang) for x in receipt.tickets]


class JournalPrinting:
    """PrintingPort over a PrintJournal and a running PrintWorker (and the emulator it owns in the demo)."""

    def __init__(
        self,
        store: StorePort,
        worker: PrintWorker,
        journal: PrintJournal,
        emulator: Stoppable | None = None,
        *,
        preview: LabelPreview | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._store = store
        self.worker = worker
        self.journal = journal
        self.emulator = emulator
        self.labels = SaleLabels(journal)
        self._preview = preview
        self._clock = clock

    def printer(self) -> PrinterView:
        status = self.worker.printer.status()
        return PrinterView(state_of(status), status.detail)

    def wake(self) -> None:
        self.worker.wake()

    def jobs(self, job_ids: tuple[str, ...]) -> JobsView:
        with self._store.read() as conn:
            jobs = [self.journal.get(conn, j) for j in job_ids]
        printed = sum(1 for j in jobs if j is not None and j.state is JobState.CONFIRMED)
        lost = sum(1 for j in jobs if j is None or j.state in (JobState.FAILED, JobState.UNKNOWN))
        problem = ""
        if printed < len(job_ids):
            # last_status is fresh: the worker reads it while idle too (a printer back after a drop shows "ready")
            state = self.state()
            problem = "" if state in ("ready", "") else state
            if lost and not problem:
                problem = "error"
        return JobsView(len(job_ids), printed, problem, lost > 0, lost)

    def state(self) -> str:
        return state_of(self.worker.last_status)

    def reprint(self, job_ids: tuple[str, ...], *, device_id: str, reason: str) -> tuple[str, ...]:
        """A new "Reprint N" copy (logged, `reprint` event) of each job that did not print; printed ones are kept.

        A job still queued or being sent is kept as it is (it prints by itself), and a cancelled one (sale voided)
        is never reprinted: nothing is printed twice without being marked a reprint.
        """
        now = self._clock()
        follow: list[str] = []
        with self._store.write() as conn:
            for job_id in job_ids:
                job = self.journal.get(conn, job_id)
                lost = job is not None and (
                    job.state is JobState.UNKNOWN
                    or (job.state is JobState.FAILED and not job.error.startswith("cancelled"))
                )
                if lost:
                    follow.append(self.journal.reprint(conn, job_id, now, device_id=device_id, reason=reason))
                else:
                    follow.append(job_id)
        self.worker.wake()
        return tuple(follow)

    def test_print(self, lang: str = "en") -> None:
        """A label on the configured stock (format and resolution), captioned in the technician's language."""
        now = self._clock()
        label = test_label(now, lang, self.journal.default_format, self.journal.default_dpi)
        with self._store.write() as conn:
            self.journal.enqueue_test(conn, label, now=now)
        self.worker.wake()

    def preview_png(self, out: Path, lang: str) -> Path | None:
        """A PNG of a real label from the store (the newest sold ticket, else any ticket with a code)."""
        return None if self._preview is None else self._preview(out, lang)

    def close(self) -> None:
        self.worker.stop(timeout=2.0)
        if self.emulator is not None:
            self.emulator.stop()
