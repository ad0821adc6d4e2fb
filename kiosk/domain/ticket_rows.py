"""Ticket-list rows (from CSV or JSON lines) → `TicketRecord`, with a precise reason for every refused row.

Columns: code (required), event_id, tariff_id (required), ticket_id (else derived from the code, so every device
derives the same id), performance_id, pass_id, valid_from, valid_until (ISO 8601), entries_allowed (default 1),
holder_name, status (valid|cancelled), order_ref. Hand-written rather than pydantic: 200k rows must import in
seconds on a 2-core device.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from kiosk.domain.errors import KioskError
from kiosk.domain.model import TicketRecord, TicketStatus
from kiosk.domain.scan_input import MAX_CODE_CHARS, clean_scan
from kiosk.domain.timeutil import parse_instant

MAX_HOLDER_NAME = 200
# What the door's on-screen keypad can type (kiosk.ui.widgets.keypad.CODE_KEYS is this string): when a barcode will
# not scan, staff type the code printed under it, so a list code with any other character (lower case, spaces,
# accents, other signs) could never be admitted by hand, and the importer refuses it.
TYPEABLE_CODE_CHARS = "1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ-._"
_TYPEABLE = frozenset(TYPEABLE_CODE_CHARS)


class RowError(KioskError, ValueError):
    """A row that cannot be imported; the message names the column and the problem."""

    reason = "bad_row"


def ticket_id_for_code(code: str) -> int:
    """A stable positive 63-bit id for a list code that came without one."""
    return int.from_bytes(hashlib.blake2b(code.encode("utf-8"), digest_size=8).digest(), "big") >> 1 or 1


def _int(row: Mapping[str, Any], name: str, *, required: bool = False, default: int | None = None) -> int | None:
    value = row.get(name)
    if value is None or value == "":
        if required:
            raise RowError(f"{name}: missing")
        return default
    # A JSON float is refused, not truncated: 2.5 is no entry count, and 9007199254740993.0 is already rounded.
    if isinstance(value, bool | float):
        raise RowError(f"{name}: not an integer: {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RowError(f"{name}: not an integer: {str(value)[:40]!r}") from None
    if not 0 <= number < 2**63:
        raise RowError(f"{name}: out of range: {number}")
    return number


def _time(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_instant(str(value))
    except ValueError:
        raise RowError(f"{name}: not an ISO 8601 time: {str(value)[:40]!r}") from None


def parse_ticket_row(row: Mapping[str, Any]) -> TicketRecord:
    raw_code = row.get("code")
    if not isinstance(raw_code, str) or not raw_code.strip():
        raise RowError("code: missing")
    scanned = clean_scan(raw_code)
    if scanned.junk or len(scanned.text) > MAX_CODE_CHARS or scanned.text != raw_code.strip():
        raise RowError("code: contains control characters, spaces at the ends or is too long")
    code = scanned.text
    if not _TYPEABLE.issuperset(code):
        raise RowError("code: only capital letters A-Z, digits and - . _ (what the door keypad can type)")
    status_text = str(row.get("status") or "valid").strip().lower()
    try:
        status = TicketStatus(status_text)
    except ValueError:
        raise RowError(f"status: must be valid or cancelled, not {status_text[:20]!r}") from None
    holder = row.get("holder_name") or None
    if holder is not None and (not isinstance(holder, str) or len(holder) > MAX_HOLDER_NAME):
        raise RowError(f"holder_name: must be text of at most {MAX_HOLDER_NAME} characters")
    entries = _int(row, "entries_allowed", default=1)
    if not entries or entries > 255:
        raise RowError("entries_allowed: must be between 1 and 255")
    ticket_id = _int(row, "ticket_id") or ticket_id_for_code(code)
    valid_from, valid_until = _time(row, "valid_from"), _time(row, "valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        raise RowError("valid_until: before valid_from")
    return TicketRecord(
        ticket_id=ticket_id,
        event_id=_int(row, "event_id", required=True) or 0,
        tariff_id=_int(row, "tariff_id", required=True) or 0,
        performance_id=_int(row, "performance_id"),
        pass_id=_int(row, "pass_id"),
        valid_from=valid_from,
        valid_until=valid_until,
        entries_allowed=entries,
        holder_name=holder,
        status=status,
        code=code,
        order_ref=(str(row["order_ref"])[:64] if row.get("order_ref") else None),
    )
