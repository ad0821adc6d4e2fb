"""Sales rules: quantities, CHF totals, cash rounding to 0.05 with change, card references, free tickets."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.model import Performance, Tariff
from kiosk.domain.sales import (
    MAX_PER_LINE,
    Cart,
    Payment,
    PaymentMethod,
    SaleError,
    performances_on_sale,
    quick_cash_amounts,
    round_cash,
    settle,
)
from kiosk.domain.timeutil import venue_day

FULL = Tariff(1, 10, {"en": "Full"}, Decimal("45.00"))
ODD = Tariff(2, 10, {"en": "Odd"}, Decimal("12.33"))
INVITE = Tariff(3, 10, {"en": "Invitation"}, Decimal("0.00"), icon="free")
OTHER_EVENT = Tariff(4, 11, {"en": "Jazz"}, Decimal("35.00"))


def cart() -> Cart:
    return Cart(performance_id=100, event_id=10)


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("12.33", "12.35"),
        ("12.32", "12.30"),
        ("12.325", "12.35"),
        ("12.375", "12.40"),
        ("0.02", "0.00"),
        ("0.025", "0.05"),
        ("45.00", "45.00"),
        ("36.99", "37.00"),
    ],
)
def test_cash_rounds_to_five_centimes(amount: str, rounded: str) -> None:
    assert round_cash(Decimal(amount)) == Decimal(rounded)


@given(st.decimals(min_value=0, max_value=10000, places=2))
def test_rounding_is_within_half_a_step_and_a_multiple_of_five(amount: Decimal) -> None:
    r = round_cash(amount)
    assert abs(r - amount) <= Decimal("0.025")
    assert (r * 100) % 5 == 0


def test_cash_change_uses_the_rounded_total() -> None:
    c = cart().set_quantity(ODD, 3)  # 36.99 → 37.00 due
    s = settle(c, Payment(PaymentMethod.CASH, tendered=Decimal("50")))
    assert (s.total, s.due, s.rounding, s.change) == (
        Decimal("36.99"),
        Decimal("37.00"),
        Decimal("0.01"),
        Decimal("13.00"),
    )


def test_cash_too_little_or_junk_is_refused() -> None:
    c = cart().set_quantity(FULL, 2)
    for tendered in (Decimal("89.95"), None, Decimal("-5"), Decimal("NaN"), Decimal("1e9")):
        with pytest.raises(SaleError):
            settle(c, Payment(PaymentMethod.CASH, tendered=tendered))
    assert settle(c, Payment(PaymentMethod.CASH, tendered=Decimal("90"))).change == 0


def test_card_needs_a_plausible_reference() -> None:
    c = cart().set_quantity(FULL, 1)
    for ref in ("", "  ", "ab", "x" * 40, "12;DROP", "^XA"):
        with pytest.raises(SaleError) as err:
            settle(c, Payment(PaymentMethod.CARD, reference=ref))
        assert err.value.reason == "card_reference_invalid"
    s = settle(c, Payment(PaymentMethod.CARD, reference=" 004711 "))
    assert (s.due, s.reference, s.change, s.rounding) == (Decimal("45.00"), "004711", 0, 0)


def test_card_is_not_rounded() -> None:
    s = settle(cart().set_quantity(ODD, 1), Payment(PaymentMethod.CARD, reference="A123"))
    assert s.due == Decimal("12.33")


def test_free_tickets_only_when_nothing_to_pay() -> None:
    free = cart().set_quantity(INVITE, 2)
    s = settle(free, Payment(PaymentMethod.FREE))
    assert (s.total, s.due, s.change) == (0, 0, 0)
    with pytest.raises(SaleError) as err:
        settle(free, Payment(PaymentMethod.CASH, tendered=Decimal("10")))
    assert err.value.reason == "nothing_to_pay"
    mixed = free.set_quantity(FULL, 1)
    with pytest.raises(SaleError) as err:
        settle(mixed, Payment(PaymentMethod.FREE))
    assert err.value.reason == "not_free"


def test_empty_cart_cannot_be_settled() -> None:
    with pytest.raises(SaleError) as err:
        settle(cart(), Payment(PaymentMethod.FREE))
    assert err.value.reason == "cart_empty"


def test_quantities_and_steppers() -> None:
    c = cart().step(FULL, +1).step(FULL, +1).step(ODD, +1).step(FULL, -1)
    assert [(x.tariff_id, x.quantity) for x in c.lines] == [(1, 1), (2, 1)]
    assert c.total == Decimal("57.33")
    assert c.step(ODD, -1).step(ODD, -1).quantity_of(ODD.id) == 0  # never negative
    for _ in range(MAX_PER_LINE + 5):
        c = c.step(FULL, +1)
    assert c.quantity_of(FULL.id) == MAX_PER_LINE
    with pytest.raises(SaleError):
        cart().set_quantity(FULL, -1)
    with pytest.raises(SaleError):
        cart().set_quantity(FULL, MAX_PER_LINE + 1)


def test_a_tariff_of_another_event_is_refused() -> None:
    with pytest.raises(SaleError) as err:
        cart().set_quantity(OTHER_EVENT, 1)
    assert err.value.reason == "tariff_not_for_event"


def test_too_many_tickets_in_one_sale() -> None:
    c = cart().set_quantity(FULL, 20).set_quantity(ODD, 20)
    with pytest.raises(SaleError) as err:
        c.set_quantity(INVITE, 1)
    assert err.value.reason == "too_many_tickets"


def test_quick_cash_amounts_start_exact_then_notes_above() -> None:
    assert quick_cash_amounts(Decimal("37.00")) == [Decimal("37.00"), 50, 100, 200]


@pytest.mark.all_dates
def test_performances_on_sale_today_first_and_past_excluded(frozen_now: datetime) -> None:
    now = frozen_now

    def perf(pid: int, hours: float) -> Performance:
        start = now + timedelta(hours=hours)
        return Performance(pid, 10, start, start - timedelta(hours=1))

    perfs = [perf(1, 26), perf(2, -30), perf(3, 1), perf(4, 0.5), perf(5, 48), perf(6, -3), perf(7, -20)]
    # today's (the venue's calendar day of `now`, whatever its length) by start time, then the rest by start time
    open_ones = [p for p in perfs if p.closes >= now]
    today = sorted((p for p in open_ones if venue_day(p.starts_at) == venue_day(now)), key=lambda p: p.starts_at)
    later = sorted((p for p in open_ones if venue_day(p.starts_at) != venue_day(now)), key=lambda p: p.starts_at)
    assert [p.id for p in performances_on_sale(perfs, now)] == [p.id for p in today + later]
    assert 2 not in [p.id for p in performances_on_sale(perfs, now)]  # 30 hours ago: long closed
    if venue_day(now + timedelta(hours=1)) == venue_day(now):  # an evening: the next hour's show is today's
        assert [i for i in (p.id for p in performances_on_sale(perfs, now)) if i in (1, 3, 4, 5)] == [4, 3, 1, 5]
