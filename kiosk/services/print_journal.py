"""The durable print journal: one `print_jobs` row per label, written inside the caller's transaction.

`PrintJournal.enqueue(conn, ticket_id, now=...)` renders the label and queues it in the same transaction as the
sale, so a sale and its print job commit together (or not at all). `reprint` is the only way to print a label
again: it prints "Reprint N", logs it and writes a `reprint` outbox event in the same transaction.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kiosk.adapters.store.print_tables import print_jobs
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore, SqlTicketStore
from kiosk.adapters.zpl import LabelFormat, render_receipt, render_ticket
from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import LabelError, Receipt, ticket_label
from kiosk.domain.outbox import EventKind, reprint_event

log = logging.getLogger(__name__)

REPRINT_EVENT = EventKind.REPRINT


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
        event = reprint_event(new_id, job_id, original.ticket_id, copy, device_id, reason, original.state.value, now)
        SqlOutboxStore().append(conn, event)
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
