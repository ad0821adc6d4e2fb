"""Central's check of one device event: its size, the sender's scope, its envelope, its payload and its sums.

The payload models live in `kiosk.domain.events` (the one definition the device builds with); this adds what
only central can check: that the event is the sending device's and within what its role may record
(`sync_agent.central.devices`), that its envelope time is an instant, and that a sale's money adds up.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from pydantic_core import PydanticSerializationError, to_json

from kiosk.domain.events import KINDS, Event, EventRejected, Sale, parse_event
from sync_agent.central.devices import OPEN, in_scope
from sync_agent.messages import MessageError, TxEvent, check_instant

MAX_EVENT_BYTES = 64 * 1024  # a sale of 40 signed tickets is about 30 KB as JSON; every field is bounded
MAX_SALE_AMOUNT = Decimal("100000")  # CHF: far above any walk-up sale (40 tickets), catches an absurd figure
CENT = Decimal("0.01")
MAX_ROUNDING = Decimal("0.025")  # cash rounding to 0.05, half up


def check_event(ev: TxEvent, device_id: str, role: str = OPEN) -> Event:
    """The event's payload model, or EventRejected with the short stable reason sent back in the ack."""
    p = ev.payload
    try:
        size = len(to_json(p))
    except (ValueError, PydanticSerializationError) as exc:  # nested deeper than any model goes
        raise EventRejected("payload nested too deep", reason="malformed:payload") from exc
    if size > MAX_EVENT_BYTES:
        raise EventRejected("payload over the size bound", reason="too_large")
    if ev.kind in KINDS and not in_scope(role, ev.kind):
        raise EventRejected(f"a {role} device may not record {ev.kind}", reason="out_of_scope")
    if isinstance(p, dict):
        if p.get("v") == 1 and "device_id" in p and p["device_id"] != device_id:
            raise EventRejected("not the sending device's event", reason="device_mismatch")
        try:
            check_instant(ev.occurred_at)
        except MessageError as exc:
            raise EventRejected(exc.detail, reason="malformed:occurred_at") from exc
    event = parse_event(ev.kind, ev.event_id, p)
    if isinstance(event, Sale):
        check_sale_amounts(event)
    return event


def check_sale_amounts(sale: Sale) -> None:
    """No negative or absurd amount, and the figures agree: lines → total → due (cash rounding) → change."""
    pay = sale.payment
    amounts = {k: Decimal(getattr(pay, k)) for k in ("total", "due", "rounding", "tendered", "change")}
    prices = [Decimal(line.unit_price) for line in sale.lines]
    if any(not 0 <= x <= MAX_SALE_AMOUNT for k, x in amounts.items() if k != "rounding"):
        raise EventRejected("a negative or absurd amount", reason="malformed:payment")
    if any(not 0 <= x <= MAX_SALE_AMOUNT for x in prices):
        raise EventRejected("a negative or absurd unit price", reason="malformed:lines")
    total, due, rounding = amounts["total"], amounts["due"], amounts["rounding"]
    lines_total = sum((Decimal(line.quantity) * price for line, price in zip(sale.lines, prices, strict=True)),
                      Decimal(0)).quantize(CENT)  # fmt: skip
    consistent = (
        lines_total == total
        and abs(rounding) <= MAX_ROUNDING
        and due == total + rounding
        and amounts["change"] == amounts["tendered"] - due
        and (pay.method == "cash" or (rounding == 0 and amounts["change"] == 0))
        and (pay.method != "free" or total == 0)
    )
    if not consistent:
        raise EventRejected("the sale's figures do not add up", reason="inconsistent:payment")
    # One ticket per unit sold, of its line's tariff (the selling service makes them so).
    sold = Counter[int]()
    for line in sale.lines:
        sold[line.tariff_id] += line.quantity
    if sale.tickets and Counter(t.tariff_id for t in sale.tickets) != +sold:
        raise EventRejected("the tickets do not match the lines", reason="inconsistent:tickets")
