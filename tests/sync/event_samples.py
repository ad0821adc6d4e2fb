"""One outbox event of every kind, made by the device's own builders (`kiosk.domain.outbox`), for central's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from kiosk.domain import events as ev
from kiosk.domain.model import CheckinList, CheckinRecord, Direction, Movement, TicketRecord
from kiosk.domain.outbox import OutboxEvent, checkin_event, failed_scan_event, reprint_event, sale_event
from kiosk.domain.sales import Cart, CartLine, Payment, PaymentMethod, settle
from kiosk.domain.scan_input import clean_scan, trace
from kiosk.domain.verdicts import GateContext, Verdict, VerdictCode

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def _ctx(device: str) -> GateContext:
    return GateContext(device, "main", CheckinList(1, "all", frozenset({10})), (), Direction.ENTRY)


def checkin(device: str = "door-a", ticket: int = 7, allowed: int = 1) -> OutboxEvent:
    record = TicketRecord(ticket, 10, 3, performance_id=12, entries_allowed=allowed)
    verdict = Verdict(VerdictCode.VALID, ticket=record, movement=Movement.ENTRY, performance_id=12)
    return checkin_event(str(uuid.uuid4()), verdict, _ctx(device), AT)


def failed_scan(device: str = "door-a") -> OutboxEvent:
    first = CheckinRecord("s0", 7, Movement.ENTRY, AT, "door-b", "side", 12)
    verdict = Verdict(VerdictCode.ALREADY_USED, ticket=TicketRecord(7, 10, 3), performance_id=12, first_use=first)
    return failed_scan_event(
        str(uuid.uuid4()), verdict, _ctx(device), AT, trace(clean_scan("K1.ABC\x00junk"), b"k" * 32)
    )


def sale(device: str = "door-a") -> OutboxEvent:
    line = CartLine(3, {"fr": "Adulte", "de": "Erwachsene", "it": "Adulto", "en": "Adult"}, Decimal("22.50"), 2)
    cart = Cart(performance_id=12, event_id=10, lines=(line,))
    settlement = settle(cart, Payment(PaymentMethod.CASH, Decimal("50")))
    sold = [ev.SaleTicket(ticket_id=900 + i, code=f"K1.{i}.sig", tariff_id=3, key_id=1) for i in range(2)]
    return sale_event(str(uuid.uuid4()), "W2345678", device, cart, settlement, sold, AT)


def reprint(device: str = "door-a") -> OutboxEvent:
    return reprint_event(str(uuid.uuid4()), str(uuid.uuid4()), 900, 2, device, "paper jam", "printed", AT)


def every_kind(device: str = "door-a") -> list[OutboxEvent]:
    return [checkin(device), failed_scan(device), sale(device), reprint(device)]
