"""Pure presenters: service results → what a screen shows (texts, colours, shapes, sounds). No Kivy here.

Verdicts are told apart four ways so that nobody depends on colour alone (about 8% of men are red-green colour
blind): colour (Okabe-Ito palette, distinguishable in every common colour-vision deficiency), shape (circle with a
tick, triangle with "!", octagon with a cross, arrow for an exit), words, and sound (rising chime, double beep,
low buzz).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from kiosk.domain.catalog import Catalog
from kiosk.domain.model import Performance, pick_text
from kiosk.domain.sales import Cart, SaleError
from kiosk.domain.verdicts import Verdict, VerdictCode
from kiosk.ui import i18n
from kiosk.ui.i18n import N_

Tr = Callable[[str, str], str]
RGBA = tuple[float, float, float, float]

GREEN: RGBA = (0.0, 0.62, 0.45, 1)  # Okabe-Ito bluish green
AMBER: RGBA = (0.90, 0.62, 0.0, 1)  # Okabe-Ito orange
RED: RGBA = (0.84, 0.37, 0.0, 1)  # Okabe-Ito vermillion
BLUE: RGBA = (0.0, 0.45, 0.70, 1)  # Okabe-Ito blue

VERDICT_SECONDS = {"ok": 1.6, "exit": 1.6, "warn": 3.0, "stop": 3.0}  # refusals stay longer: staff must act


@dataclass(frozen=True)
class VerdictView:
    kind: str  # ok | warn | stop | exit
    shape: str  # circle_check | triangle_bang | octagon_cross | arrow_out
    colour: RGBA
    sound: str  # name of the sound file (sounds are distinct per kind)
    title: str
    detail: str
    tariff: str = ""
    tariff_icon: str = ""
    seconds: float = 2.0


_TITLES = {
    VerdictCode.VALID: N_("Welcome"),
    VerdictCode.ALREADY_USED: N_("Already used"),
    VerdictCode.UNKNOWN: N_("Unknown ticket"),
    VerdictCode.INVALID_SIGNATURE: N_("Forged or damaged code"),
    VerdictCode.WRONG_EVENT: N_("Ticket for another event"),
    VerdictCode.WRONG_PERFORMANCE: N_("Ticket for another date"),
    VerdictCode.NOT_YET_VALID: N_("Not valid yet"),
    VerdictCode.EXPIRED: N_("Expired"),
    VerdictCode.REVOKED: N_("Ticket blocked"),
    VerdictCode.CANCELLED: N_("Ticket cancelled"),
    VerdictCode.NOT_ON_THIS_LIST: N_("Not for this door"),
    VerdictCode.EXIT_RECORDED: N_("Exit recorded"),
    VerdictCode.NOT_INSIDE: N_("Not inside"),
}

_DETAILS = {
    "unreadable": N_("The code could not be read. Scan it again."),
    "not_in_list": N_("This code is not one of our tickets. Send the guest to the box office."),
    "bad_signature": N_("The code was altered or copied badly. Send the guest to the box office."),
    "malformed": N_("The code was altered or copied badly. Send the guest to the box office."),
    "unknown_key": N_("The code was signed by an issuer we do not know. Send the guest to the box office."),
    "key_revoked": N_("The code was signed with a withdrawn key. Send the guest to the box office."),
    "doors_not_open": N_("Doors are not open yet for this performance."),
    "before_validity": N_("This ticket is not valid yet."),
    "after_validity": N_("This ticket's validity has ended."),
    "admission_closed": N_("Admission for this performance has closed."),
    "no_open_performance": N_("No performance this pass covers is open now."),
    "performance_not_on_list": N_("This performance is not admitted at this door."),
    "other_date": N_("This ticket is for another date."),
    "exit_not_allowed": N_("Exits are not recorded at this door."),
    "daily_limit": N_("The entries allowed today have been used."),
    "reentry": N_("Welcome back (re-entry)."),
}

_CODE_DETAILS = {
    VerdictCode.WRONG_EVENT: N_("This ticket is for another event."),
    VerdictCode.REVOKED: N_("This ticket was blocked (reported lost or stolen). Send the guest to the box office."),
    VerdictCode.CANCELLED: N_("This ticket was cancelled or refunded. Send the guest to the box office."),
    VerdictCode.NOT_ON_THIS_LIST: N_("This ticket is not admitted at this door. Show the guest the right entrance."),
    VerdictCode.EXIT_RECORDED: N_("See you later."),
    VerdictCode.NOT_INSIDE: N_("No entry was recorded for this ticket, so no exit either."),
    VerdictCode.EXPIRED: N_("This ticket is no longer valid."),
    VerdictCode.NOT_YET_VALID: N_("This ticket is not valid yet."),
}

TARIFF_ICON_WORDS = {
    "standard": "",
    "reduced": N_("Reduced"),
    "child": N_("Child"),
    "free": N_("Free"),
    "vip": N_("VIP"),
    "pass": N_("Pass"),
}


def _kind(verdict: Verdict) -> str:
    if verdict.code is VerdictCode.VALID:
        return "ok"
    if verdict.code is VerdictCode.EXIT_RECORDED:
        return "exit"
    if verdict.code is VerdictCode.ALREADY_USED:
        return "warn"
    return "stop"


_LOOK = {
    "ok": ("circle_check", GREEN, "ok"),
    "exit": ("arrow_out", BLUE, "exit"),
    "warn": ("triangle_bang", AMBER, "warn"),
    "stop": ("octagon_cross", RED, "stop"),
}


def verdict_view(verdict: Verdict, tr: Tr, lang: str, catalog: Catalog | None = None) -> VerdictView:
    kind = _kind(verdict)
    shape, colour, sound = _LOOK[kind]
    title = tr(_TITLES[verdict.code], lang)
    detail = _detail(verdict, tr, lang, catalog)
    tariff = icon = ""
    if verdict.display is not None and verdict.code in (VerdictCode.VALID, VerdictCode.ALREADY_USED):
        tariff = pick_text(verdict.display.tariff_name, lang)
        icon_word = TARIFF_ICON_WORDS.get(verdict.display.tariff_icon, "")
        icon = tr(icon_word, lang) if icon_word else ""
    return VerdictView(kind, shape, colour, sound, title, detail, tariff, icon, VERDICT_SECONDS[kind])


def store_error_view(error: str, tr: Tr, lang: str) -> VerdictView:
    """A scan the store could not record (disk full, locked past every retry): said, never silent."""
    full = "full" in error.lower()  # StoreFull / "the disk is full"
    detail = (
        N_("The disk is full: nothing was recorded. Call the technician.")
        if full
        else N_("The store is busy or unavailable: nothing was recorded. Scan again.")
    )
    shape, colour, sound = _LOOK["warn"]
    return VerdictView("warn", shape, colour, sound, tr(N_("Not recorded"), lang), tr(detail, lang), seconds=3.0)


def _detail(verdict: Verdict, tr: Tr, lang: str, catalog: Catalog | None) -> str:
    first = verdict.first_use
    if verdict.code is VerdictCode.ALREADY_USED and first is not None:
        when = f"{i18n.day_of(first.at, lang)} {i18n.time_of(first.at, lang)}"
        text = tr("First used {when} at door {gate} ({device}).", lang).format(
            when=when, gate=first.gate, device=first.device_id
        )
        if verdict.detail == "daily_limit":
            text = tr(_DETAILS["daily_limit"], lang) + " " + text
        return text
    if verdict.code is VerdictCode.WRONG_PERFORMANCE and verdict.display and verdict.display.performance_starts:
        at = verdict.display.performance_starts
        return tr("This ticket is for {day} at {time}.", lang).format(
            day=i18n.day_of(at, lang), time=i18n.time_of(at, lang)
        )
    if verdict.code is VerdictCode.NOT_YET_VALID and catalog is not None and verdict.performance_id:
        perf = catalog.performances.get(verdict.performance_id)
        if perf is not None:
            return tr("Doors open at {time}.", lang).format(time=i18n.time_of(perf.doors_open, lang))
    if verdict.detail in _DETAILS:
        return tr(_DETAILS[verdict.detail], lang)
    if verdict.code in _CODE_DETAILS:
        return tr(_CODE_DETAILS[verdict.code], lang)
    return ""


@dataclass(frozen=True)
class BadgeView:
    text: str
    colour: RGBA
    online: bool


def badge_view(online: bool, data_age: timedelta | None, stale: bool, tr: Tr, lang: str) -> BadgeView:
    """Online/offline plus the age of the ticket data, e.g. 'Offline · data 12 minutes old'."""
    state = tr("Online", lang) if online else tr("Offline", lang)
    if data_age is None:
        age = tr("no data from central yet", lang)
    else:
        age = tr("data {age} old", lang).format(age=i18n.age(data_age, lang))
    colour = GREEN if online and not stale else AMBER
    return BadgeView(f"{state} · {age}", colour, online)


# ---- sales ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerformanceRow:
    performance_id: int
    event_id: int
    title: str
    when: str
    today: bool


def performance_rows(
    catalog: Catalog, perfs: list[Performance], now: datetime, lang: str, tr: Tr
) -> list[PerformanceRow]:
    from kiosk.domain.timeutil import venue_day

    rows = []
    for p in perfs:
        event = catalog.events.get(p.event_id)
        title = pick_text(event.name, lang) if event else str(p.event_id)
        today = venue_day(p.starts_at) == venue_day(now)
        day = tr("Today", lang) if today else i18n.day_of(p.starts_at, lang)
        rows.append(PerformanceRow(p.id, p.event_id, title, f"{day} {i18n.time_of(p.starts_at, lang)}", today))
    return rows


@dataclass(frozen=True)
class TariffRow:
    tariff_id: int
    name: str
    price: str
    quantity: int
    icon: str


def tariff_rows(catalog: Catalog, cart: Cart, lang: str, tr: Tr) -> list[TariffRow]:
    tariffs = [
        t
        for t in catalog.tariffs.values()
        if t.event_id == cart.event_id and t.kind.value == "single"  # passes are sold at the box office
    ]
    tariffs.sort(key=lambda t: (-t.price, t.id))
    rows = []
    for t in tariffs:
        icon_word = TARIFF_ICON_WORDS.get(t.icon, "")
        price = tr("Free", lang) if t.price == 0 else i18n.chf(t.price, lang)
        icon = tr(icon_word, lang) if icon_word else ""
        rows.append(TariffRow(t.id, pick_text(t.name, lang), price, cart.quantity_of(t.id), icon))
    return rows


def cart_summary(cart: Cart, lang: str, tr: Tr) -> str:
    if cart.is_empty:
        return tr("No tickets chosen yet", lang)
    return tr("{count} tickets · total {total}", lang).format(count=cart.count, total=i18n.chf(cart.total, lang))


SALE_ERRORS = {
    "cart_empty": N_("Choose at least one ticket."),
    "printer_down": N_("Tickets cannot be printed right now: please call a staff member."),
    "not_free": N_("Only free tickets can be given without payment."),
    "nothing_to_pay": N_("These tickets are free: confirm without payment."),
    "card_reference_invalid": N_("Enter the reference printed by the card terminal (3 to 32 letters or digits)."),
    "tendered_invalid": N_("Enter the amount of cash received."),
    "tendered_too_little": N_("The cash received is less than the amount due."),
    "quantity_out_of_range": N_("That quantity is not possible here."),
    "too_many_tickets": N_("Too many tickets for one sale: please see the box office."),
    "tariff_not_for_event": N_("That price is not for this event."),
    "device_cannot_sell": N_("This kiosk is set up for scanning only and cannot sell."),
    "price_changed": N_("Prices have just been updated. Please check the new prices."),
    "performance_over": N_("This performance is no longer on sale."),
    "performance_unknown": N_("This performance is no longer on sale."),
    "tariff_unknown": N_("Prices have just been updated. Please check the new prices."),
}


def sale_error_text(err: SaleError, tr: Tr, lang: str) -> str:
    return tr(SALE_ERRORS.get(err.reason, N_("The sale could not be completed.")), lang)


def money_text(amount: Decimal, lang: str) -> str:
    return i18n.chf(amount, lang)


# ---- printer -------------------------------------------------------------------------------------------------

PRINTER_PROBLEMS = {
    "ok": N_("Ready"),
    "ready": N_("Ready"),
    "printing": N_("Printing"),
    "paper_out": N_("Out of paper: load a new label roll."),
    "head_open": N_("Print head open: close the printer lid."),
    "ribbon_out": N_("Ribbon out: load a new ribbon."),
    "paused": N_("Printer paused: press the pause button on the printer."),
    "unreachable": N_("Printer not reachable: check its power and network cable."),
    "offline": N_("Printer not reachable: check its power and network cable."),
    "slow": N_("The printer is answering slowly."),
    "too_hot": N_("Print head too hot: wait a moment."),
    "error": N_("The printer reports an error."),
    "not_configured": N_("No printer is set up on this kiosk."),
}


def printer_text(state: str, tr: Tr, lang: str) -> str:
    return tr(PRINTER_PROBLEMS.get(state, PRINTER_PROBLEMS["error"]), lang)
