"""Central's checks of one device event: what it must hold per kind. Unknown kinds are stored generically."""

from __future__ import annotations

from typing import Any

from kiosk.domain.outbox import EventKind
from sync_agent.messages import MessageError, TxEvent
from sync_agent.messages import check_instant as _instant

MOVEMENTS = ("entry", "reentry", "exit")
MAX_ENTRIES = 65_535  # a ticket's entries per performance (devices hold 1-255); fits the database column


def event_problem(ev: TxEvent, device_id: str) -> str | None:
    """None when the event may be stored, else a short stable reason code (sent back in the ack)."""
    p: dict[str, Any] = ev.payload
    if p.get("v") != 1:
        return "unsupported_version"
    if "device_id" in p and p["device_id"] != device_id:
        return "device_mismatch"
    try:
        _instant(ev.occurred_at)
    except MessageError:
        return "malformed:occurred_at"
    if ev.kind in (EventKind.CHECKIN, EventKind.FAILED_SCAN):
        problem = _scan_problem(ev, p)
        if problem:
            return problem
    if ev.kind == EventKind.CHECKIN:
        if p.get("movement") not in MOVEMENTS:
            return "malformed:movement"
        if not isinstance(p.get("ticket_id"), int):
            return "malformed:ticket_id"
        allowed = p.get("entries_allowed", 1)  # older devices did not send it: one entry
        if not isinstance(allowed, int) or isinstance(allowed, bool) or not 1 <= allowed <= MAX_ENTRIES:
            return "malformed:entries_allowed"
    return None


def _scan_problem(ev: TxEvent, p: dict[str, Any]) -> str | None:
    if p.get("scan_id") != ev.event_id:
        return "malformed:scan_id"
    gate = p.get("gate")
    if not isinstance(gate, str) or not gate or len(gate) > 64:
        return "malformed:gate"
    if not isinstance(p.get("verdict"), str):
        return "malformed:verdict"
    perf = p.get("performance_id")
    if perf is not None and not isinstance(perf, int):
        return "malformed:performance_id"
    at = p.get("scanned_at")
    if not isinstance(at, str):
        return "malformed:scanned_at"
    try:
        _instant(at)
    except MessageError:
        return "malformed:scanned_at"
    return None
