"""What the sales screen says about the printer, the cash, the labels and free tariffs: pure functions over values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from kiosk.domain.catalog import Catalog
from kiosk.ui import i18n
from kiosk.ui.i18n import N_
from kiosk.ui.presenters import printer_text

Tr = Callable[[str, str], str]
RGBA = tuple[float, float, float, float]
T = TypeVar("T")

# Colours carry meaning on the sales screen: green = done / money to give back, amber = something still needed.
OK_TONE: RGBA = (0.4, 0.9, 0.6, 1.0)
WARNING_TONE: RGBA = (1.0, 0.72, 0.2, 1.0)
PROBLEM_TONE: RGBA = (1.0, 0.55, 0.3, 1.0)

# Printer states in which a sale may start: anything else and the buyer could pay for a ticket that cannot print.
SELLABLE_STATES = frozenset({"", "ready", "printing", "slow"})


def printer_blocks_sale(state: str) -> bool:
    """True when the printer cannot print now ("" = not known yet: the first status is a poll away)."""
    return state not in SELLABLE_STATES


@dataclass(frozen=True)
class PrinterGate:
    """The start screen's printer line: what the buyer reads, what the staff must do, and whether selling waits."""

    blocked: bool
    buyer: str = ""
    staff: str = ""


def printer_gate(state: str, tr: Tr, lang: str) -> PrinterGate:
    if not printer_blocks_sale(state):
        return PrinterGate(False)
    buyer = tr("Tickets cannot be printed right now: please call a staff member.", lang)
    staff = tr("For staff: {what}", lang).format(what=printer_text(state, tr, lang))
    return PrinterGate(True, buyer, staff)


def cash_line(tendered: Decimal | None, due: Decimal, tr: Tr, lang: str) -> tuple[str, RGBA]:
    """The change to give (green) or the amount still missing (amber); nothing before an amount is typed."""
    if tendered is None:
        return "", OK_TONE
    change = tendered - due
    if change >= 0:
        return tr("Change to give: {change}", lang).format(change=i18n.chf(change, lang)), OK_TONE
    return tr("Still missing: {missing}", lang).format(missing=i18n.chf(-change, lang)), WARNING_TONE


def print_count_text(printed: int, total: int, tr: Tr, lang: str) -> str:
    return tr("{printed} of {total} tickets printed", lang).format(printed=printed, total=total)


@dataclass(frozen=True)
class DoneView:
    """The done step: all printed (thanks), or some labels missing (say so, offer a reprint, show the reference)."""

    title: str
    count: str
    missing: int
    hint: str
    tone: RGBA


def done_view(printed: int, total: int, printer_state: str, tr: Tr, lang: str) -> DoneView:
    count = print_count_text(printed, total, tr, lang) if total else ""
    missing = max(total - printed, 0)
    if not missing:
        return DoneView(tr("Thank you! Please take your tickets.", lang), count, 0, "", OK_TONE)
    title = tr("Paid, but not every ticket was printed.", lang)
    if printer_blocks_sale(printer_state):
        hint = tr("Keep your order reference and show it to a staff member.", lang)
        hint += "\n" + printer_text(printer_state, tr, lang)
    else:
        hint = tr("Staff: check the printer, then tap Print again.", lang)
    return DoneView(title, count, missing, hint, WARNING_TONE)


def sellable_tariffs(rows: Sequence[T], tariff_id: Callable[[T], int], catalog: Catalog, attended: bool) -> list[T]:
    """An unattended kiosk offers no free tariff (anyone could print invitations); an attended one offers them all."""
    if attended:
        return list(rows)
    return [r for r in rows if catalog.tariffs[tariff_id(r)].price != 0]


def is_free_tariff(catalog: Catalog, tariff_id: int) -> bool:
    return catalog.tariffs[tariff_id].price == 0


PIN_TEXTS = {
    "free": N_("Free tickets need a staff member: staff PIN."),
    "reprint": N_("Print again: staff PIN."),
    "wrong": N_("Wrong PIN."),
}


def staff_prompt(purpose: str, wrong: bool, tr: Tr, lang: str) -> str:
    text = tr(PIN_TEXTS.get(purpose, PIN_TEXTS["reprint"]), lang)
    return f"{tr(PIN_TEXTS['wrong'], lang)} {text}" if wrong else text


def qr_matrix(text: str) -> list[list[bool]]:
    """The order reference as a QR code (dark modules True), so a dead printer still lets the buyer take it away.

    A full QR code: segno would pick a Micro QR for so short a text, which phones do not read.
    """
    import segno

    return [[bool(m) for m in row] for row in segno.make_qr(text, error="m").matrix]
