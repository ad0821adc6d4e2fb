"""One Swiss money format in fr, de, it and en on screens and labels; the cash parser takes only keypad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kiosk.domain.labels import format_chf as label_chf
from kiosk.domain.money import parse_cash_typed
from kiosk.ui import i18n

AMOUNTS = [
    ("0", "CHF 0.00"),
    ("0.05", "CHF 0.05"),
    ("45", "CHF 45.00"),
    ("1234.5", "CHF 1'234.50"),
    ("1234567.89", "CHF 1'234'567.89"),
    ("-0.05", "CHF -0.05"),
    ("-1234.5", "CHF -1'234.50"),
    ("-1234567.89", "CHF -1'234'567.89"),
]


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
@pytest.mark.parametrize(("amount", "text"), AMOUNTS)
def test_same_swiss_format_in_every_language(lang: str, amount: str, text: str) -> None:
    assert i18n.chf(Decimal(amount), lang) == text.replace(" ", "\u00a0")  # screens: no wrap after "CHF"
    assert label_chf(Decimal(amount), lang) == text  # labels and receipts: plain space, font 0 has it


def test_rounds_half_up_to_the_centime_and_never_shows_minus_zero() -> None:
    assert i18n.chf(Decimal("999.995"), "fr") == "CHF\u00a01'000.00"
    assert i18n.chf(Decimal("-0.004"), "de") == "CHF\u00a00.00"


@pytest.mark.parametrize(
    ("typed", "amount"), [("20", "20"), ("20.", "20"), ("20.5", "20.5"), ("0.05", "0.05"), ("1234.50", "1234.5")]
)
def test_cash_parser_takes_what_the_keypad_types(typed: str, amount: str) -> None:
    assert parse_cash_typed(typed) == Decimal(amount)


@pytest.mark.parametrize("typed", ["", "20,50", "1e3", "NaN", "Infinity", "-5", " 5", ".5", "20.555", "1_000", "1'000"])
def test_cash_parser_refuses_what_the_keypad_cannot_type(typed: str) -> None:
    assert parse_cash_typed(typed) is None
