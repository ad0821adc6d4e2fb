"""The print journal's rows (`print_jobs`): written and read inside a transaction the print journal service owns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from kiosk.adapters.store.print_tables import print_jobs
from kiosk.domain.print_jobs import JobState, NewPrintJob, PrintJob

_COLUMNS = [c for c in print_jobs.c if c.name != "zpl"]  # the ZPL is read only when the job is sent


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


class SqlPrintJobs:
    """One `print_jobs` row per label, in `seq` order (the order the worker prints them)."""

    def add(self, conn: Connection, job: NewPrintJob) -> None:
        conn.execute(
            insert(print_jobs).values(
                job_id=job.job_id,
                kind=job.kind,
                ticket_id=job.ticket_id,
                format=job.format,
                dpi=job.dpi,
                lang=job.lang,
                copy=job.copy,
                reprint_of=job.reprint_of,
                state=JobState.QUEUED.value,
                zpl=job.zpl.decode("ascii"),
                created_at=job.created_at,
                updated_at=job.created_at,
            )
        )

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

    def ids_in_state(self, conn: Connection, state: JobState) -> list[str]:
        return list(conn.execute(select(print_jobs.c.job_id).where(print_jobs.c.state == state.value)).scalars())

    def cancel_queued(self, conn: Connection, job_id: str, now: datetime, error: str) -> bool:
        result = conn.execute(
            update(print_jobs)
            .where(print_jobs.c.job_id == job_id, print_jobs.c.state == JobState.QUEUED.value)
            .values(state=JobState.FAILED.value, error=error[:500], updated_at=now)
        )
        return bool(result.rowcount)

    def highest_copy(self, conn: Connection, ticket_id: int) -> int | None:
        value = conn.execute(
            select(func.max(print_jobs.c.copy)).where(print_jobs.c.ticket_id == ticket_id)
        ).scalar_one()
        return None if value is None else int(value)
