"""Printing: the worker that drains the durable print journal (`print_journal.py`) to the printer in order.

`PrintWorker` is a thread: before each job it reads the printer's status
and waits, saying why, while there is a fault; it marks the job `sent` *before* the first byte leaves, then
watches the printer until its buffer is empty (`confirmed`) or the answer stops (`unknown`). A job left `sent`
by a crash becomes `unknown` at the next start. Nothing is ever printed twice automatically: an `unknown` job
waits for a person to look at the printer and call `reprint`, which prints "Reprint N" on the label, logs it
and writes a `reprint` outbox event in the same transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.printer import PrinterSendError, PrinterStatus, PrinterUnreachable
from kiosk.services.ports import Printer, StorePort
from kiosk.services.print_journal import REPRINT_EVENT, JobState, PrintJob, PrintJournal
from kiosk.services.store_retry import PATIENT_BACKOFF, Backoff, BusyMeter, retry_store

# The journal's names are part of this module's interface too (screens and tests import them from here).
__all__ = ["REPRINT_EVENT", "JobState", "JobUpdate", "PrintJob", "PrintJournal", "PrintWorker", "fault_text"]

log = logging.getLogger(__name__)
R = TypeVar("R")

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


class PrintWorker:
    """Sends queued jobs in order from a background thread. Listeners are called on that thread.

    `status_poll`: while idle, the printer's status is read this often (seconds) into `last_status`.
    `confirm_timeout`: how long after sending the printer may go without an answer (or keep the label in its
    buffer with no fault) before the job is declared `unknown`. Time spent in a reported fault does not count:
    a label held by "paper out" prints when the roll is changed.
    """

    def __init__(
        self,
        store: StorePort,
        printer: Printer,
        journal: PrintJournal,
        *,
        clock: Clock = system_clock,
        idle_poll: float = 0.5,
        fault_poll: float = 1.0,
        watch_poll: float = 0.05,
        confirm_timeout: float = 20.0,
        status_poll: float = 2.0,
        backoff: Backoff = PATIENT_BACKOFF,
    ) -> None:
        self.store = store
        self.backoff = backoff
        self.store_busy = BusyMeter()  # writes repeated because the store was locked (technician status)
        self.printer = printer
        self.journal = journal
        self.clock = clock
        self.idle_poll = idle_poll
        self.fault_poll = fault_poll
        self.watch_poll = watch_poll
        self.confirm_timeout = confirm_timeout
        self.status_poll = status_poll
        self._status_at = float("-inf")  # monotonic time of the last idle ~HS
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
    def _write(self, what: str, fn: Callable[[Any], R]) -> R:
        """One store transaction, tried again while the store is busy (a busy try wrote nothing)."""

        def once() -> R:
            with self.store.write() as conn:
                return fn(conn)

        return retry_store(once, backoff=self.backoff, meter=self.store_busy, wait=self._stop.wait, what=what)

    def start(self) -> PrintWorker:
        """Start the thread; it first recovers jobs a stopped kiosk left `sent` (a busy store only delays that)."""
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

    def _recover(self) -> bool:
        try:
            for job_id in self._write("print recovery", lambda conn: self.journal.recover(conn, self.clock())):
                log.warning("print job %s was being sent when the kiosk stopped: outcome unknown", job_id)
        except Exception:  # a store busy past every retry must not stop the kiosk from starting: try again
            log.exception("print worker: could not recover interrupted jobs yet; retrying")
            return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set() and not self._recover():
            self._stop.wait(self.fault_poll)
        while not self._stop.is_set():
            try:
                outcome = self.run_once()
            except Exception:
                log.exception("print worker: unexpected error; retrying")
                outcome = "error"
            if outcome == "idle":
                self._idle_status()
                self._sleep(self.idle_poll)
            elif outcome in ("fault", "error"):
                self._stop.wait(self.fault_poll)

    def _idle_status(self) -> None:
        """Ask the printer how it is while nothing prints, so `last_status` is never stale: the sales start screen
        refuses payment while it cannot print, and shows the printer back once it is."""
        if time.monotonic() - self._status_at < self.status_poll:
            return
        self._status_at = time.monotonic()
        self._report(self.printer.status())

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
        # Durable *before* the first byte leaves; still busy after the retries: nothing sent, the job waits its turn.
        self._write(
            "print job sent", lambda c: self.journal.mark(c, job.job_id, JobState.SENT, self.clock(), attempt=True)
        )
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
        self._write(
            "print job status", lambda conn: self.journal.mark(conn, job.job_id, state, self.clock(), status=text)
        )

    def _finish(self, job: PrintJob, state: JobState, status: PrinterStatus | None, detail: str) -> None:
        # The label has left: its outcome must be recorded, so a busy store is waited out (never re-sent).
        self._write(
            "print job outcome",
            lambda conn: self.journal.mark(
                conn,
                job.job_id,
                state,
                self.clock(),
                status=_status_text(status) if status else None,
                error=detail if state is JobState.UNKNOWN else None,
            ),
        )
        if state is JobState.UNKNOWN:
            log.warning(
                "print job %s (ticket %s): outcome unknown, not reprinted: %s", job.job_id, job.ticket_id, detail
            )
        self._emit_job(job, state, detail)


def _status_text(status: PrinterStatus) -> str:
    text = "ready" if status.ready else ",".join(status.faults) + (f": {status.detail}" if status.detail else "")
    return text[:200]
