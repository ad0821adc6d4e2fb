"""The durable print journal's table: one row per print job, in the order jobs were queued.

The ZPL is stored with the job (it is ASCII: all field data is hex-escaped), so what prints after a restart is
exactly what was rendered when the sale committed, whatever happens to the catalog meanwhile.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from kiosk.adapters.store.tables import UtcDateTime, metadata

print_jobs = Table(
    "print_jobs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(36), nullable=False, unique=True),
    Column("kind", String(16), nullable=False, server_default="ticket"),  # ticket | receipt
    Column("ticket_id", Integer, nullable=True),
    Column("format", String(16), nullable=False),
    Column("dpi", Integer, nullable=False),
    Column("lang", String(8), nullable=False, server_default="en"),
    Column("copy", Integer, nullable=False, server_default="1"),  # 1 = original, 2+ = deliberate reprints
    Column("reprint_of", String(36), nullable=True),
    Column("state", String(16), nullable=False),  # queued | sent | confirmed | failed | unknown
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_status", String(200), nullable=False, server_default=""),
    Column("error", String(500), nullable=False, server_default=""),
    Column("zpl", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_print_jobs_state", "state", "seq"),
    Index("ix_print_jobs_ticket", "ticket_id"),
    sqlite_autoincrement=True,
)
