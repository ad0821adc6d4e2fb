"""Walk-up sale rules: cart lines, quantities, CHF totals, cash with 0.05 rounding and change, card, free tickets.

Pure values: a `Cart` is immutable and every change returns a new one, so the UI can keep the previous cart for
"back" and the service can check exactly what the buyer saw. Money is `Decimal` in CHF throughout.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from kiosk.domain.errors import KioskError
from kiosk.domain.model import LocalizedText, Performance, Tariff
from kiosk.domain.timeutil import venue_day

CENT = Decimal("0.01")
CASH_STEP = Decimal("0.05")
MAX_PER_LINE = 20  # a walk-up buyer buying more is a group sale for the box office
MAX_PER_SALE = 40
MAX_TENDERED = Decimal("5000")  # larger than any note bundle a kiosk takes; catches a mistyped amount


class SaleError(KioskError, ValueError):
    """A sale that cannot go through. `reason` is a stable snake_case word the UI translates."""

    reason = "sale_refused"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentMethod(enum.StrEnum):
    CASH = "cash"
    CARD = "card"  # paid on the separate card terminal; we record its reference
    FREE = "free"  # nothing to pay: every line is a free tariff (invitations)


@dataclass(frozen=True)
class CartLine:
    tariff_id: int
    name: LocalizedText
    unit_price: Decimal
    quantity: int
    icon: str = "standard"

    @property
    def amount(self) -> Decimal:
        return (self.unit_price * self.quantity).quantize(CENT)


@dataclass(frozen=True)
class Cart:
    """Tickets for one performance. Lines keep the order in which tariffs were first added."""

    performance_id: int
    event_id: int
    lines: tuple[CartLine, ...] = ()

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0")).quantize(CENT)

    @property
    def is_empty(self) -> bool:
        return self.count == 0

    def quantity_of(self, tariff_id: int) -> int:
        return next((line.quantity for line in self.lines if line.tariff_id == tariff_id), 0)

    def set_quantity(self, tariff: Tariff, quantity: int) -> Cart:
        """The cart with this tariff at `quantity` (0 removes the line); refuses out-of-range quantities."""
        if tariff.event_id is not None and tariff.event_id != self.event_id:
            raise SaleError("tariff_not_for_event")
        if quantity < 0 or quantity > MAX_PER_LINE:
            raise SaleError("quantity_out_of_range")
        others = tuple(line for line in self.lines if line.tariff_id != tariff.id)
        if sum(line.quantity for line in others) + quantity > MAX_PER_SALE:
            raise SaleError("too_many_tickets")
        if quantity == 0:
            return replace(self, lines=others)
        line = CartLine(tariff.id, tariff.name, tariff.price, quantity, tariff.icon)
        kept = [line if x.tariff_id == tariff.id else x for x in self.lines]
        if not any(x.tariff_id == tariff.id for x in self.lines):
            kept.append(line)
        return replace(self, lines=tuple(kept))

    def step(self, tariff: Tariff, delta: int) -> Cart:
        """A stepper press: +1/-1, clamped at 0 and at the per-line limit (a stepper never raises)."""
        wanted = min(max(self.quantity_of(tariff.id) + delta, 0), MAX_PER_LINE)
        try:
            return self.set_quantity(tariff, wanted)
        except SaleError:
            return self


def round_cash(amount: Decimal) -> Decimal:
    """CHF cash rounding to the nearest 5 centimes (half up: 0.025 → 0.05), as Swiss tills do."""
    return ((amount / CASH_STEP).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * CASH_STEP).quantize(CENT)


@dataclass(frozen=True)
class Payment:
    method: PaymentMethod
    tendered: Decimal | None = None  # cash handed over
    reference: str = ""  # card terminal receipt reference


@dataclass(frozen=True)
class Settlement:
    """What the buyer pays: `due` is the total after cash rounding; `change` goes back to the buyer."""

    method: PaymentMethod
    total: Decimal
    due: Decimal
    rounding: Decimal
    tendered: Decimal
    change: Decimal
    reference: str = ""


def _valid_reference(text: str) -> str:
    ref = text.strip()
    if not (3 <= len(ref) <= 32) or not all(ch.isalnum() or ch in "-/." for ch in ref):
        raise SaleError("card_reference_invalid")
    return ref


def settle(cart: Cart, payment: Payment) -> Settlement:
    """Check the payment against the cart; raises SaleError with the reason the buyer or cashier must fix."""
    if cart.is_empty:
        raise SaleError("cart_empty")
    total = cart.total
    if payment.method is PaymentMethod.FREE:
        if total != 0:
            raise SaleError("not_free")
        return Settlement(PaymentMethod.FREE, total, total, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    if total == 0:
        raise SaleError("nothing_to_pay")
    if payment.method is PaymentMethod.CARD:
        ref = _valid_reference(payment.reference)
        return Settlement(PaymentMethod.CARD, total, total, Decimal("0.00"), total, Decimal("0.00"), ref)
    due = round_cash(total)
    tendered = payment.tendered
    if tendered is None or not tendered.is_finite() or tendered < 0 or tendered > MAX_TENDERED:
        raise SaleError("tendered_invalid")
    tendered = tendered.quantize(CENT)
    if tendered < due:
        raise SaleError("tendered_too_little")
    return Settlement(PaymentMethod.CASH, total, due, due - total, tendered, tendered - due)


def quick_cash_amounts(due: Decimal) -> list[Decimal]:
    """Amounts a cashier taps instead of typing: exact, then the next round note values above `due`."""
    amounts = [due]
    for note in (Decimal(n) for n in (10, 20, 50, 100, 200)):
        if note > due and len(amounts) < 4:
            amounts.append(note)
    return amounts


def performances_on_sale(performances: Iterable[Performance], now: datetime) -> list[Performance]:
    """What a sales screen offers: still admitting or to come, today's (venue day) first, then by start time."""
    today = venue_day(now)
    open_ones = [p for p in performances if p.closes >= now]
    return sorted(open_ones, key=lambda p: (venue_day(p.starts_at) != today, p.starts_at, p.id))
