"""The durable print journal: one print job per label, written inside the caller's transaction.

`PrintJournal.enqueue(conn, ticket_id, now=...)` renders the label and queues it in the same transaction as the
sale, so a sale and its print job commit together (or not at all). `reprint` is the only way to print a label
again: it prints "Reprint N", logs it and writes a `reprint` outbox event in the same transaction.
The rows live behind a PrintJobRepository and the rendering behind a LabelRenderer (kiosk.services.ports).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime

from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import LabelError, Receipt, TicketLabel, ticket_label
from kiosk.domain.outbox import EventKind, reprint_event
from kiosk.domain.print_jobs import JobState, NewPrintJob, PrintJob
from kiosk.services.ports import (
    CatalogRepository,
    LabelRenderer,
    OutboxRepository,
    PrintJobRepository,
    TicketRepository,
    Tx,
)

# JobState and PrintJob are the domain's; importers keep taking them from here (and from kiosk.services.printing).
__all__ = ["REPRINT_EVENT", "JobState", "PrintJob", "PrintJournal"]

log = logging.getLogger(__name__)

REPRINT_EVENT = EventKind.REPRINT


class PrintJournal:
    """The print jobs. Every method runs in a transaction the caller owns (`store.write()` / `read()`)."""

    def __init__(
        self,
        *,
        jobs: PrintJobRepository,
        tickets: TicketRepository,
        catalogs: CatalogRepository,
        outbox: OutboxRepository,
        renderer: LabelRenderer,
        default_format: str = "show",
        default_dpi: int = 203,
    ) -> None:
        self._jobs = jobs
        self._tickets = tickets
        self._catalogs = catalogs
        self._outbox = outbox
        self.renderer = renderer
        self.default_format = str(default_format)
        self.default_dpi = default_dpi
        self._catalog: tuple[str, Catalog] | None = None

    def _catalog_for(self, conn: Tx) -> Catalog:
        version = self._catalogs.version(conn)
        if self._catalog is None or self._catalog[0] != version:
            self._catalog = (version, self._catalogs.load(conn))
        return self._catalog[1]

    def enqueue(
        self,
        conn: Tx,
        ticket_id: int,
        *,
        now: datetime,
        lang: str | None = None,
        fmt: str | None = None,
        dpi: int | None = None,
        job_id: str | None = None,
        copy: int = 1,
        reprint_of: str | None = None,
    ) -> str:
        """Queue the ticket's label; rendered now, so the label is fixed when the sale commits. Returns the job id.

        Raises `LabelError` (no such ticket, no code) or the renderer's `LayoutError`; the caller's transaction then
        rolls back.
        """
        ticket = self._tickets.by_id(conn, ticket_id)
        if ticket is None:
            raise LabelError(f"ticket {ticket_id} is not in the store")
        label_format = str(fmt or self.default_format)
        resolution = dpi or self.default_dpi
        label = ticket_label(ticket, self._catalog_for(conn), lang, copy)
        zpl = self.renderer.ticket(label, label_format, resolution)
        job_id = job_id or str(uuid.uuid4())
        job = NewPrintJob(job_id, "ticket", ticket_id, label_format, resolution, label.lang, copy, reprint_of, zpl, now)
        self._jobs.add(conn, job)
        return job_id

    def enqueue_receipt(
        self, conn: Tx, receipt: Receipt, *, now: datetime, dpi: int | None = None, job_id: str | None = None
    ) -> str:
        resolution = dpi or self.default_dpi
        zpl = self.renderer.receipt(receipt, resolution)
        job_id = job_id or str(uuid.uuid4())
        self._jobs.add(
            conn, NewPrintJob(job_id, "receipt", None, "receipt", resolution, receipt.lang, 1, None, zpl, now)
        )
        return job_id

    def enqueue_test(self, conn: Tx, label: TicketLabel, *, now: datetime) -> str:
        """Queue a test label (no ticket behind it) on the default stock; kind `test`."""
        zpl = self.renderer.ticket(label, self.default_format, self.default_dpi)
        job_id = str(uuid.uuid4())
        job = NewPrintJob(job_id, "test", None, self.default_format, self.default_dpi, label.lang, 1, None, zpl, now)
        self._jobs.add(conn, job)
        return job_id

    def get(self, conn: Tx, job_id: str) -> PrintJob | None:
        return self._jobs.get(conn, job_id)

    def zpl(self, conn: Tx, job_id: str) -> bytes:
        return self._jobs.zpl(conn, job_id)

    def next_queued(self, conn: Tx) -> PrintJob | None:
        return self._jobs.next_queued(conn)

    def jobs(self, conn: Tx, states: Iterable[JobState] | None = None, limit: int = 100) -> list[PrintJob]:
        """Newest first (what a staff screen lists)."""
        return self._jobs.jobs(conn, states, limit)

    def count(self, conn: Tx, state: JobState) -> int:
        return self._jobs.count(conn, state)

    def mark(
        self,
        conn: Tx,
        job_id: str,
        state: JobState,
        now: datetime,
        *,
        status: str | None = None,
        error: str | None = None,
        attempt: bool = False,
    ) -> None:
        self._jobs.mark(conn, job_id, state, now, status=status, error=error, attempt=attempt)

    def recover(self, conn: Tx, now: datetime) -> list[str]:
        """At start: a job still `sent` was on its way when the process died; its outcome is unknown."""
        ids = self._jobs.ids_in_state(conn, JobState.SENT)
        for job_id in ids:
            self.mark(conn, job_id, JobState.UNKNOWN, now, error="the kiosk stopped while this job was being sent")
        return ids

    def cancel(self, conn: Tx, job_id: str, now: datetime, reason: str) -> bool:
        """A queued job that must not print any more (sale voided) becomes `failed` with the reason."""
        return self._jobs.cancel_queued(conn, job_id, now, f"cancelled: {reason}")

    def reprint(self, conn: Tx, job_id: str, now: datetime, *, device_id: str, reason: str = "") -> str:
        """A deliberate new copy of a ticket job: "Reprint N" on the label, a log line and a `reprint` outbox event."""
        original = self.get(conn, job_id)
        if original is None or original.ticket_id is None:
            raise LabelError(f"print job {job_id} is not a ticket job")
        copy = (self._jobs.highest_copy(conn, original.ticket_id) or 1) + 1
        new_id = self.enqueue(
            conn,
            original.ticket_id,
            now=now,
            lang=original.lang,
            fmt=original.format,
            dpi=original.dpi,
            copy=copy,
            reprint_of=job_id,
        )
        event = reprint_event(new_id, job_id, original.ticket_id, copy, device_id, reason, original.state.value, now)
        self._outbox.append(conn, event)
        log.warning(
            "reprint: ticket %s copy %d (job %s, of %s, was %s) on %s: %s",
            original.ticket_id,
            copy,
            new_id,
            job_id,
            original.state.value,
            device_id,
            reason or "no reason given",
        )
        return new_id
