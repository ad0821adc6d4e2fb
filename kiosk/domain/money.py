"""Swiss money text, one format for every language and for labels: 'CHF 1'234.50'; and the cash keypad's parser."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Plain apostrophe (not U+2019): the printer's font 0 has it, and screen and label then read the same.
THOUSANDS = "'"
DECIMAL_POINT = "."  # the cash keypad's decimal key types exactly this
# What the cash keypad can type: digits, at most one point, at most two decimals (no sign, exponent or spaces).
_CASH_TYPED = re.compile(r"[0-9]{1,7}(?:\.[0-9]{0,2})?")


def format_chf(amount: Decimal, nbsp: bool = True) -> str:
    """'CHF 1'234.50', 'CHF -0.05': prefix, apostrophe thousands, point decimal, rounded half up to the centime.

    `nbsp` joins "CHF" to the number with a no-break space so a screen never wraps between them; labels pass False.
    """
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if cents < 0 else ""
    whole, _, frac = f"{abs(cents):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    space = "\u00a0" if nbsp else " "
    return f"CHF{space}{sign}{THOUSANDS.join(groups)}{DECIMAL_POINT}{frac or '00'}"


def parse_cash_typed(text: str) -> Decimal | None:
    """The amount the cash keypad typed ("20", "20.", "20.5"), or None for empty or anything it cannot type."""
    if not _CASH_TYPED.fullmatch(text):
        return None
    try:
        return Decimal(text.rstrip(DECIMAL_POINT))
    except InvalidOperation:  # unreachable after the pattern; kept so a bad string never raises into the UI
        return None
