"""Outbox events: the facts a device tells central, built from domain results (schema version 1).

Every business action writes its own rows and one of these in the same transaction; `sync_agent` sends them in
sequence order and central applies each `event_id` once. Payloads hold ids, codes and times — no holder names.
Each payload is built and checked by its model in `kiosk.domain.events` (the one definition central validates
against), once, when the event is made: the stored JSON is what travels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.domain import events as ev
from kiosk.domain.events import SCHEMA_VERSION
from kiosk.domain.sales import Cart, Settlement
from kiosk.domain.scan_input import ScanTrace
from kiosk.domain.timeutil import iso
from kiosk.domain.verdicts import GateContext, Verdict

__all__ = ["SCHEMA_VERSION", "EventKind", "OutboxEvent", "checkin_event", "failed_scan_event", "sale_event"]


class EventKind:
    """Stable names of outbox event kinds (part of the sync protocol)."""

    CHECKIN = "checkin"
    FAILED_SCAN = "failed_scan"
    SALE = "sale"
    REPRINT = "reprint"


@dataclass(frozen=True)
class OutboxEvent:
    event_id: str
    kind: str
    occurred_at: datetime
    payload: Mapping[str, Any]


def outbox_event(event_id: str, occurred_at: datetime, model: ev.EventPayload) -> OutboxEvent:
    """The outbox row of a built payload model; its kind is the model's."""
    return OutboxEvent(event_id, model.kind, occurred_at, model.payload())


def _scan_common(scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "device_id": ctx.device_id,
        "gate": ctx.gate,
        "list_id": ctx.checkin_list.id,
        "direction": ctx.direction.value,
        "verdict": verdict.code.value,
        "detail": verdict.detail[:200],
        "ticket_id": verdict.ticket.ticket_id if verdict.ticket else None,
        "performance_id": verdict.performance_id,
        "scanned_at": iso(at),
    }


def checkin_event(scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> OutboxEvent:
    """An admission, re-entry or exit; the event id is the scan id so a retried scan is one event."""
    payload = _scan_common(scan_id, verdict, ctx, at)
    payload["movement"] = verdict.movement.value if verdict.movement else None  # None: refused by the model
    payload["entries_allowed"] = verdict.ticket.entries_allowed if verdict.ticket else 1
    model = ev.Checkin.model_validate(payload)
    return outbox_event(scan_id, at, model)


def failed_scan_event(scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime, seen: ScanTrace) -> OutboxEvent:
    """A refused scan; what was read travels only as its trace (length, hash, ticket-like prefix), never as text."""
    first = verdict.first_use
    model = ev.FailedScan(
        **_scan_common(scan_id, verdict, ctx, at),
        text_prefix=seen.prefix,
        text_length=seen.length,
        text_hash=seen.digest,
        symbology=seen.symbology,
        first_use=ev.FirstUse(at=iso(first.at), device_id=first.device_id, gate=first.gate) if first else None,
    )
    return outbox_event(scan_id, at, model)


def sale_event(
    order_id: str,
    order_ref: str,
    device_id: str,
    cart: Cart,
    settlement: Settlement,
    tickets: Sequence[ev.SaleTicket],
    sold_at: datetime,
) -> OutboxEvent:
    """A committed walk-up sale; the event id is the order id, so a retried confirmation is one event."""
    s = settlement
    model = ev.Sale(
        order_id=order_id,
        order_ref=order_ref,
        device_id=device_id,
        event_id=cart.event_id,
        performance_id=cart.performance_id,
        sold_at=iso(sold_at),
        payment=ev.SalePayment(
            method=s.method.value,
            total=str(s.total),
            due=str(s.due),
            rounding=str(s.rounding),
            tendered=str(s.tendered),
            change=str(s.change),
            card_reference=s.reference,
        ),
        lines=[
            ev.SaleLine(tariff_id=x.tariff_id, quantity=x.quantity, unit_price=str(x.unit_price)) for x in cart.lines
        ],
        tickets=list(tickets),
    )
    return outbox_event(order_id, sold_at, model)


def reprint_event(
    job_id: str,
    reprint_of: str,
    ticket_id: int,
    copy: int,
    device_id: str,
    reason: str,
    original_state: str,
    at: datetime,
) -> OutboxEvent:
    """A deliberate new copy of a ticket label; the event id is the new print job's id."""
    model = ev.Reprint(
        job_id=job_id,
        reprint_of=reprint_of,
        ticket_id=ticket_id,
        copy_number=copy,
        device_id=device_id,
        reason=reason[:200],
        original_state=original_state,
        reprinted_at=iso(at),
    )
    return outbox_event(job_id, at, model)
