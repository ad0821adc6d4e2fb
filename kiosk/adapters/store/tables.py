"""The device store's tables (SQLAlchemy Core). Migrations in `migrations/versions` create exactly these.

Times are stored as fixed-width UTC ISO text ending in Z: readable in the sqlite3 shell and ordered as text.
Money is stored as text (exact decimals). Names are JSON objects keyed by language.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

from kiosk.domain.timeutil import iso, parse_instant

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetime ↔ 'YYYY-MM-DDTHH:MM:SS.ffffffZ'; refuses naive datetimes."""

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else iso(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else parse_instant(str(value))


class Money(TypeDecorator[Decimal]):
    """Decimal stored as text so that no float rounding ever touches a price."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", JSON, nullable=False),
    Column("venue", String(200), nullable=False, server_default=""),
)

performances = Table(
    "performances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", JSON, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("doors_open", UtcDateTime, nullable=False),
    Column("admission_closes", UtcDateTime, nullable=True),
)

tariffs = Table(
    "tariffs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), nullable=True),
    Column("name", JSON, nullable=False),
    Column("price", Money, nullable=False),
    Column("kind", String(16), nullable=False, server_default="single"),
    Column("icon", String(32), nullable=False, server_default="standard"),
)

passes = Table(
    "passes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tariff_id", Integer, ForeignKey("tariffs.id", ondelete="CASCADE"), nullable=False),
    Column("name", JSON, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=False),
    Column("entries_per_day", Integer, nullable=True),
)

pass_events = Table(
    "pass_events",
    metadata,
    Column("pass_id", Integer, ForeignKey("passes.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
)

checkin_lists = Table(
    "checkin_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("gate", String(64), nullable=True, unique=True),
    Column("allow_exit", Boolean, nullable=False, server_default="0"),
    Column("allow_reentry", Boolean, nullable=False, server_default="0"),
)

checkin_list_events = Table(
    "checkin_list_events",
    metadata,
    Column("list_id", Integer, ForeignKey("checkin_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
)

checkin_list_tariffs = Table(
    "checkin_list_tariffs",
    metadata,
    Column("list_id", Integer, ForeignKey("checkin_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("tariff_id", Integer, ForeignKey("tariffs.id", ondelete="CASCADE"), primary_key=True),
)

checkin_list_performances = Table(
    "checkin_list_performances",
    metadata,
    Column("list_id", Integer, ForeignKey("checkin_lists.id", ondelete="CASCADE"), primary_key=True),
    Column("performance_id", Integer, ForeignKey("performances.id", ondelete="CASCADE"), primary_key=True),
)

# The ticket list: no foreign keys to the catalog on purpose — a list may arrive before its catalog does.
tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(200), nullable=True, unique=True),
    Column("event_id", Integer, nullable=False),
    Column("performance_id", Integer, nullable=True),
    Column("tariff_id", Integer, nullable=False),
    Column("pass_id", Integer, nullable=True),
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_until", UtcDateTime, nullable=True),
    Column("entries_allowed", Integer, nullable=False, server_default="1"),
    Column("holder_name", String(200), nullable=True),
    Column("status", String(16), nullable=False, server_default="valid"),
    Column("order_ref", String(64), nullable=True),
    Column("source", String(16), nullable=False, server_default="list"),
)

issuer_keys = Table(
    "issuer_keys",
    metadata,
    Column("key_id", Integer, primary_key=True, autoincrement=False),
    Column("public_key", String(64), nullable=False),  # hex of the 32 raw bytes
    Column("owner", String(100), nullable=False),
    Column("revoked", Boolean, nullable=False, server_default="0"),
)

revocations = Table(
    "revocations",
    metadata,
    Column("ticket_id", Integer, primary_key=True, autoincrement=False),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("revoked_at", UtcDateTime, nullable=False),
)

checkins = Table(
    "checkins",
    metadata,
    Column("scan_id", String(36), primary_key=True),
    Column("ticket_id", Integer, nullable=False),
    Column("performance_id", Integer, nullable=True),
    Column("movement", String(16), nullable=False),
    Column("scanned_at", UtcDateTime, nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("gate", String(64), nullable=False),
    Column("list_id", Integer, nullable=True),
    Column("source", String(16), nullable=False, server_default="local"),
    Index("ix_checkins_ticket", "ticket_id", "scanned_at"),
)

failed_scans = Table(
    "failed_scans",
    metadata,
    Column("scan_id", String(36), primary_key=True),
    Column("text_prefix", String(64), nullable=False),  # ≤ 4 characters of a ticket-like read, else ""
    Column("verdict", String(32), nullable=False),
    Column("detail", String(64), nullable=False, server_default=""),
    Column("ticket_id", Integer, nullable=True),
    Column("scanned_at", UtcDateTime, nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("gate", String(64), nullable=False),
    # The rest of the trace (kiosk.domain.scan_input.ScanTrace); null on rows made before migration 0006.
    Column("text_length", Integer, nullable=True),
    Column("text_hash", String(16), nullable=True),
    Column("symbology", String(32), nullable=True),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("payload", Text, nullable=False),
    Column("synced_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Index("ix_outbox_pending", "synced_at", "seq"),
    # AUTOINCREMENT: a sequence number is never reused, even after the newest rows were deleted.
    sqlite_autoincrement=True,
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("rejected_at", UtcDateTime, nullable=False),
)
