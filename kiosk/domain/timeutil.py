"""Venue wall-clock helpers: everything is stored in UTC, days and display use Europe/Zurich."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VENUE_TZ = ZoneInfo("Europe/Zurich")


def utc(dt: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused because their meaning is ambiguous."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC or Europe/Zurich)")
    return dt.astimezone(UTC)


def venue_day(dt: datetime) -> date:
    """The calendar day at the venue (a 00:30 scan in Zurich belongs to that day, not to the UTC one)."""
    return utc(dt).astimezone(VENUE_TZ).date()


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; a value without offset is read as venue local time."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=VENUE_TZ)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """Canonical UTC text with a Z suffix (sorts in time order)."""
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
