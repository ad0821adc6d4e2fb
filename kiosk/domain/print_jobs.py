"""A print job as the journal keeps it: its state machine's states and the row's values (no I/O)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True)
class NewPrintJob:
    """What the journal writes for one label: rendered already, so the label is fixed when the sale commits."""

    job_id: str
    kind: str  # ticket | receipt
    ticket_id: int | None
    format: str
    dpi: int
    lang: str
    copy: int
    reprint_of: str | None
    zpl: bytes
    created_at: datetime
