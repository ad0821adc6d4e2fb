"""Outbox events: the facts a device tells central, built from domain results (schema version 1).

Every business action writes its own rows and one of these in the same transaction; `sync_agent` sends them in
sequence order and central applies each `event_id` once. Payloads hold ids, codes and times — no holder names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.domain.scan_input import ScanText
from kiosk.domain.timeutil import iso
from kiosk.domain.verdicts import GateContext, Verdict

SCHEMA_VERSION = 1


class EventKind:
    """Stable names of outbox event kinds (part of the sync protocol)."""

    CHECKIN = "checkin"
    FAILED_SCAN = "failed_scan"


@dataclass(frozen=True)
class OutboxEvent:
    event_id: str
    kind: str
    occurred_at: datetime
    payload: Mapping[str, Any]


def _scan_common(scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> dict[str, Any]:
    return {
        "v": SCHEMA_VERSION,
        "scan_id": scan_id,
        "device_id": ctx.device_id,
        "gate": ctx.gate,
        "list_id": ctx.checkin_list.id,
        "direction": ctx.direction.value,
        "verdict": verdict.code.value,
        "detail": verdict.detail,
        "ticket_id": verdict.ticket.ticket_id if verdict.ticket else None,
        "performance_id": verdict.performance_id,
        "scanned_at": iso(at),
    }


def checkin_event(scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> OutboxEvent:
    """An admission, re-entry or exit; the event id is the scan id so a retried scan is one event."""
    payload = _scan_common(scan_id, verdict, ctx, at)
    payload["movement"] = verdict.movement.value if verdict.movement else None
    # Central needs the allowance to tell a group ticket's second entry from a double admission.
    payload["entries_allowed"] = verdict.ticket.entries_allowed if verdict.ticket else 1
    return OutboxEvent(scan_id, EventKind.CHECKIN, at, payload)


def failed_scan_event(scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime, scan: ScanText) -> OutboxEvent:
    payload = _scan_common(scan_id, verdict, ctx, at)
    payload["text_prefix"] = scan.stored
    if verdict.first_use is not None:
        payload["first_use"] = {
            "at": iso(verdict.first_use.at),
            "device_id": verdict.first_use.device_id,
            "gate": verdict.first_use.gate,
        }
    return OutboxEvent(scan_id, EventKind.FAILED_SCAN, at, payload)
