"""Printing use cases: the durable print journal and the worker that drains it to the printer in order.

`PrintJournal.enqueue(conn, ticket_id, now=...)` runs inside the caller's transaction, so a sale and its print
job commit together (or not at all). `PrintWorker` is a thread: before each job it reads the printer's status
and waits, saying why, while there is a fault; it marks the job `sent` *before* the first byte leaves, then
watches the printer until its buffer is empty (`confirmed`) or the answer stops (`unknown`). A job left `sent`
by a crash becomes `unknown` at the next start. Nothing is ever printed twice automatically: an `unknown` job
waits for a person to look at the printer and call `reprint`, which prints "Reprint N" on the label, logs it
and writes a `reprint` outbox event in the same transaction.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.print_tables import print_jobs
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore, SqlTicketStore
from kiosk.adapters.zebra import Printer, PrinterSendError, PrinterStatus, PrinterUnreachable
from kiosk.adapters.zpl import LabelFormat, render_receipt, render_ticket
from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import LabelError, Receipt, ticket_label
from kiosk.domain.outbox import SCHEMA_VERSION, OutboxEvent
from kiosk.domain.timeutil import iso

log = logging.getLogger(__name__)

REPRINT_EVENT = "reprint"

FAULT_TEXT = {
    "no_answer": "The printer does not answer: check that it is on and on the network",
    "paper_out": "Paper out: load a new roll of tickets",
    "head_open": "Print head open: close the printer lid",
    "ribbon_out": "Ribbon out: load a new ribbon",
    "paused": "Printer paused: press the pause button to resume",
    "buffer_full": "Printer buffer full: waiting",
    "corrupt_ram": "Printer memory error: restart the printer",
    "under_temperature": "Print head too cold",
    "over_temperature": "Print head too hot: let it cool down",
}


def fault_text(status: PrinterStatus) -> str | None:
    """What to tell the staff about `status`, or None when the printer is ready."""
    if status.ready:
        return None
    return "; ".join(FAULT_TEXT.get(f, f.replace("_", " ")) for f in status.faults)


class JobState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    CONFIRMED = "confirmed"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PrintJob:
    job_id: str
    seq: int
    kind: str
    ticket_id: int | None
    format: str
    dpi: int
    lang: str
    copy: int
    reprint_of: str | None
    state: JobState
    attempts: int
    last_status: str
    error: str
    created_at: datetime
    updated_at: datetime


def _job(r: Any) -> PrintJob:
    return PrintJob(
        r.job_id,
        r.seq,
        r.kind,
        r.ticket_id,
        r.format,
        r.dpi,
        r.lang,
        r.copy,
        r.reprint_of,
        JobState(r.state),
        r.attempts,
        r.last_status,
        r.error,
        r.created_at,
        r.updated_at,
    )


_COLUMNS = [c for c in print_jobs.c if c.name != "zpl"]


class PrintJournal:
    """The print_jobs table. Every method runs in a transaction the caller owns (`store.write()` / `read()`)."""

    def __init__(self, default_format: LabelFormat | str = LabelFormat.SHOW, default_dpi: int = 203) -> None:
        self.default_format = LabelFormat(default_format)
        self.default_dpi = default_dpi
        self._catalog: tuple[str, Catalog] | None = None

    def _catalog_for(self, conn: Connection) -> Catalog:
        store = SqlCatalogStore()
        version = store.version(conn)
        if self._catalog is None or self._catalog[0] != version:
            self._catalog = (version, store.load(conn))
        return self._catalog[1]

    def enqueue(
        self,
        conn: Connection,
        ticket_id: int,
        *,
        now: datetime,
        lang: str | None = None,
        fmt: LabelFormat | str | None = None,
        dpi: int | None = None,
        job_id: str | None = None,
        copy: int = 1,
        reprint_of: str | None = None,
    ) -> str:
        """Queue the ticket's label; rendered now, so the label is fixed when the sale commits. Returns the job id.

        Raises `LabelError` (no such ticket, no code) or `LayoutError`; the caller's transaction then rolls back.
        """
        ticket = SqlTicketStore().by_id(conn, ticket_id)
        if ticket is None:
            raise LabelError(f"ticket {ticket_id} is not in the store")
        label_format = LabelFormat(fmt or self.default_format)
        resolution = dpi or self.default_dpi
        label = ticket_label(ticket, self._catalog_for(conn), lang, copy)
        rendered = render_ticket(label, label_format, resolution)
        return self._insert(
            conn, "ticket", ticket_id, label_format, resolution, label.lang, copy, reprint_of, rendered.zpl, now, job_id
        )

    def enqueue_receipt(
        self, conn: Connection, receipt: Receipt, *, now: datetime, dpi: int | None = None, job_id: str | None = None
    ) -> str:
        resolution = dpi or self.default_dpi
        rendered = render_receipt(receipt, resolution)
        return self._insert(
            conn, "receipt", None, "receipt", resolution, receipt.lang, 1, None, rendered.zpl, now, job_id
        )

    def _insert(
        self,
        conn: Connection,
        kind: str,
        ticket_id: int | None,
        fmt: str,
        dpi: int,
        lang: str,
        copy: int,
        reprint_of: str | None,
        zpl: bytes,
        now: datetime,
        job_id: str | None,
    ) -> str:
        job_id = job_id or str(uuid.uuid4())
        conn.execute(
            insert(print_jobs).values(
                job_id=job_id,
                kind=kind,
                ticket_id=ticket_id,
                format=str(fmt),
                dpi=dpi,
                lang=lang,
                copy=copy,
                reprint_of=reprint_of,
                state=JobState.QUEUED.value,
                zpl=zpl.decode("ascii"),
                created_at=now,
                updated_at=now,
            )
        )
        return job_id

    def get(self, conn: Connection, job_id: str) -> PrintJob | None:
        row = conn.execute(select(*_COLUMNS).where(print_jobs.c.job_id == job_id)).one_or_none()
        return _job(row) if row else None

    def zpl(self, conn: Connection, job_id: str) -> bytes:
        text = conn.execute(select(print_jobs.c.zpl).where(print_jobs.c.job_id == job_id)).scalar_one()
        return str(text).encode("ascii")

    def next_queued(self, conn: Connection) -> PrintJob | None:
        row = conn.execute(
            select(*_COLUMNS).where(print_jobs.c.state == JobState.QUEUED.value).order_by(print_jobs.c.seq).limit(1)
        ).one_or_none()
        return _job(row) if row else None

    def jobs(self, conn: Connection, states: Iterable[JobState] | None = None, limit: int = 100) -> list[PrintJob]:
        """Newest first (what a staff screen lists)."""
        query = select(*_COLUMNS).order_by(print_jobs.c.seq.desc()).limit(limit)
        if states is not None:
            query = query.where(print_jobs.c.state.in_([s.value for s in states]))
        return [_job(r) for r in conn.execute(query)]

    def count(self, conn: Connection, state: JobState) -> int:
        q = select(func.count()).select_from(print_jobs).where(print_jobs.c.state == state.value)
        return int(conn.execute(q).scalar_one())

    def mark(
        self,
        conn: Connection,
        job_id: str,
        state: JobState,
        now: datetime,
        *,
        status: str | None = None,
        error: str | None = None,
        attempt: bool = False,
    ) -> None:
        values: dict[str, Any] = {"state": state.value, "updated_at": now}
        if status is not None:
            values["last_status"] = status[:200]
        if error is not None:
            values["error"] = error[:500]
        if attempt:
            values["attempts"] = print_jobs.c.attempts + 1
        conn.execute(update(print_jobs).where(print_jobs.c.job_id == job_id).values(**values))

    def recover(self, conn: Connection, now: datetime) -> list[str]:
        """At start: a job still `sent` was on its way when the process died; its outcome is unknown."""
        ids = list(conn.execute(select(print_jobs.c.job_id).where(print_jobs.c.state == JobState.SENT.value)).scalars())
        for job_id in ids:
            self.mark(conn, job_id, JobState.UNKNOWN, now, error="the kiosk stopped while this job was being sent")
        return ids

    def cancel(self, conn: Connection, job_id: str, now: datetime, reason: str) -> bool:
        """A queued job that must not print any more (sale voided) becomes `failed` with the reason."""
        result = conn.execute(
            update(print_jobs)
            .where(print_jobs.c.job_id == job_id, print_jobs.c.state == JobState.QUEUED.value)
            .values(state=JobState.FAILED.value, error=f"cancelled: {reason}"[:500], updated_at=now)
        )
        return bool(result.rowcount)

    def reprint(self, conn: Connection, job_id: str, now: datetime, *, device_id: str, reason: str = "") -> str:
        """A deliberate new copy of a ticket job: "Reprint N" on the label, a log line and a `reprint` outbox event."""
        original = self.get(conn, job_id)
        if original is None or original.ticket_id is None:
            raise LabelError(f"print job {job_id} is not a ticket job")
        highest = conn.execute(
            select(func.max(print_jobs.c.copy)).where(print_jobs.c.ticket_id == original.ticket_id)
        ).scalar_one()
        copy = int(highest or 1) + 1
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
        payload = {
            "v": SCHEMA_VERSION,
            "job_id": new_id,
            "reprint_of": job_id,
            "ticket_id": original.ticket_id,
            "copy": copy,
            "device_id": device_id,
            "reason": reason[:200],
            "original_state": original.state.value,
            "reprinted_at": iso(now),
        }
        SqlOutboxStore().append(conn, OutboxEvent(new_id, REPRINT_EVENT, now, payload))
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


@dataclass(frozen=True)
class JobUpdate:
    """What a UI is told when a job changes state."""

    job_id: str
    ticket_id: int | None
    state: JobState
    copy: int
    detail: str = ""


JobListener = Callable[[JobUpdate], None]
FaultListener = Callable[[str | None, PrinterStatus], None]


def utc_now() -> datetime:
    return datetime.now(UTC)


class PrintWorker:
    """Sends queued jobs in order from a background thread. Listeners are called on that thread.

    `confirm_timeout`: how long after sending the printer may go without an answer (or keep the label in its
    buffer with no fault) before the job is declared `unknown`. Time spent in a reported fault does not count:
    a label held by "paper out" prints when the roll is changed.
    """

    def __init__(
        self,
        store: Store,
        printer: Printer,
        journal: PrintJournal | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
        idle_poll: float = 0.5,
        fault_poll: float = 1.0,
        watch_poll: float = 0.05,
        confirm_timeout: float = 20.0,
    ) -> None:
        self.store = store
        self.printer = printer
        self.journal = journal or PrintJournal()
        self.clock = clock
        self.idle_poll = idle_poll
        self.fault_poll = fault_poll
        self.watch_poll = watch_poll
        self.confirm_timeout = confirm_timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._job_listeners: list[JobListener] = []
        self._fault_listeners: list[FaultListener] = []
        self._last_fault: str | None = None
        self.last_status: PrinterStatus | None = None

    # --- subscription -----------------------------------------------------------------------------------------
    def on_job(self, listener: JobListener) -> None:
        self._job_listeners.append(listener)

    def on_fault(self, listener: FaultListener) -> None:
        """Called with the fault text (None = ready again) whenever it changes."""
        self._fault_listeners.append(listener)

    def _emit_job(self, job: PrintJob, state: JobState, detail: str = "") -> None:
        update_ = JobUpdate(job.job_id, job.ticket_id, state, job.copy, detail)
        for listener in self._job_listeners:
            try:
                listener(update_)
            except Exception:
                log.exception("print job listener failed")

    def _report(self, status: PrinterStatus) -> None:
        self.last_status = status
        text = fault_text(status)
        if text != self._last_fault:
            self._last_fault = text
            if text:
                log.warning("printer %s: %s (%s)", self.printer.name, text, status.detail)
            else:
                log.info("printer %s: ready", self.printer.name)
            for listener in self._fault_listeners:
                try:
                    listener(text, status)
                except Exception:
                    log.exception("printer fault listener failed")

    # --- life cycle -------------------------------------------------------------------------------------------
    def start(self) -> PrintWorker:
        with self.store.write() as conn:
            for job_id in self.journal.recover(conn, self.clock()):
                log.warning("print job %s was being sent when the kiosk stopped: outcome unknown", job_id)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="print-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Call after committing a new job, so it is sent now rather than at the next poll."""
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                outcome = self.run_once()
            except Exception:
                log.exception("print worker: unexpected error; retrying")
                outcome = "error"
            if outcome == "idle":
                self._sleep(self.idle_poll)
            elif outcome in ("fault", "error"):
                self._stop.wait(self.fault_poll)

    # --- one step ---------------------------------------------------------------------------------------------
    def run_once(self) -> str:
        """Handle the oldest queued job: 'idle', 'fault' (printer not ready, job still queued) or the job's state."""
        with self.store.read() as conn:
            job = self.journal.next_queued(conn)
            zpl = self.journal.zpl(conn, job.job_id) if job else b""
        if job is None:
            return "idle"
        status = self.printer.status()
        self._report(status)
        if not status.ready:
            self._note(job, JobState.QUEUED, status)
            return "fault"
        with self.store.write() as conn:  # durable *before* the first byte leaves
            self.journal.mark(conn, job.job_id, JobState.SENT, self.clock(), attempt=True)
        self._emit_job(job, JobState.SENT)
        try:
            after = self.printer.send(zpl)
        except PrinterUnreachable as exc:  # nothing left this machine: the job simply waits its turn again
            status = PrinterStatus.unreachable(str(exc))
            self._report(status)
            self._finish(job, JobState.QUEUED, status, "")
            return "fault"
        except PrinterSendError as exc:
            self._report(PrinterStatus.unreachable(str(exc)))
            self._finish(job, JobState.UNKNOWN, None, str(exc))
            return JobState.UNKNOWN.value
        state, last, detail = self._watch(after)
        self._finish(job, state, last, detail)
        return state.value

    def _watch(self, status: PrinterStatus) -> tuple[JobState, PrinterStatus, str]:
        """Poll until the printer's buffer is empty and it has no fault (confirmed), or it goes quiet (unknown)."""
        quiet_since = time.monotonic()
        while True:
            self._report(status)
            if status.idle:
                return JobState.CONFIRMED, status, ""
            if status.reachable and status.faults:
                quiet_since = time.monotonic()  # a person is being asked to fix it; the label waits in the printer
            elif time.monotonic() - quiet_since > self.confirm_timeout:
                why = status.detail or f"{status.formats_in_buffer} format(s) still in the printer buffer"
                return JobState.UNKNOWN, status, f"not confirmed after {self.confirm_timeout:g}s: {why}"
            if self._stop.is_set():
                return JobState.UNKNOWN, status, "the kiosk stopped while waiting for the printer"
            self._stop.wait(self.watch_poll)
            status = self.printer.status()

    def _note(self, job: PrintJob, state: JobState, status: PrinterStatus) -> None:
        """Record why the job waits, once per change (not one fsync per poll during a long paper-out)."""
        text = _status_text(status)
        if job.last_status == text:
            return
        with self.store.write() as conn:
            self.journal.mark(conn, job.job_id, state, self.clock(), status=text)

    def _finish(self, job: PrintJob, state: JobState, status: PrinterStatus | None, detail: str) -> None:
        with self.store.write() as conn:
            self.journal.mark(
                conn,
                job.job_id,
                state,
                self.clock(),
                status=_status_text(status) if status else None,
                error=detail if state is JobState.UNKNOWN else None,
            )
        if state is JobState.UNKNOWN:
            log.warning(
                "print job %s (ticket %s): outcome unknown, not reprinted: %s", job.job_id, job.ticket_id, detail
            )
        self._emit_job(job, state, detail)


def _status_text(status: PrinterStatus) -> str:
    text = "ready" if status.ready else ",".join(status.faults) + (f": {status.detail}" if status.detail else "")
    return text[:200]
