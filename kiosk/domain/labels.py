"""What a printed ticket says, in the buyer's language, and how text is made to fit a box without clipping.

Pure: no printer, no ZPL. `ticket_label` turns a ticket and the catalog into `TicketLabel` (every field already
formatted: Europe/Zurich date and time via Babel, CHF price); `fit_text` decides font size, line breaks and a
deliberate "..." truncation from a table of character widths measured for the printer's font 0 (CG Triumvirate
Bold Condensed). Babel is used for dates and money instead of hand-made month names and number formats.
Captions ("Reprint 2", "Order …", "Valid … – …", "Receipt", "Total") are not here: the renderer translates them
through the one gettext catalog (kiosk/locales) that the screens use, so translators edit one place.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from babel.dates import format_date, format_time

from kiosk.domain import money
from kiosk.domain.catalog import Catalog
from kiosk.domain.errors import KioskError
from kiosk.domain.languages import LANGUAGES, Language
from kiosk.domain.model import TicketRecord, TicketStatus, pick_text
from kiosk.domain.timeutil import VENUE_TZ, utc

ELLIPSIS = "..."  # ASCII on purpose: every font 0 has it, unlike U+2026.

# Advance of font 0 glyphs as a share of the font height (^A0N,h,h), measured per character and rounded up;
# the margin below covers printers whose metrics are a little wider than the measurement.
_WIDTH_GROUPS: dict[float, str] = {
    0.25: "ijl",
    0.30: "!'(),./:;I[]`ft ",
    0.35: "r",
    0.40: "z",
    0.45: "?Jcksvxy",
    0.50: '"#$*0123456789EFLTZ\\^_abdeghnopqu{|}',
    0.55: "CSV",
    0.60: "ABDGKOPQRXY",
    0.65: "&HNU",
    0.70: "w",
    0.75: "Mm",
    0.85: "W",
    0.95: "%+-=@",
    1.00: "<>~",
}
_WIDTH = {ch: share for share, chars in _WIDTH_GROUPS.items() for ch in chars}
_UNKNOWN_WIDTH = 1.0  # CJK, emoji, symbols: assume a full square
_SAFETY = 1.06


def norm_lang(lang: str | None) -> Language:
    """One of fr/de/it/en ("de_CH" is "de"); a buyer whose language we do not speak (None, "es") reads English."""
    base = (lang or "").split("_")[0].split("-")[0].lower()
    for known in LANGUAGES:
        if base == known:
            return known
    return "en"


def clean_text(text: str | None) -> str:
    """Printable text: control and format characters dropped, whitespace runs collapsed, lone surrogates replaced.

    Escaping (in the ZPL adapter) already makes any character harmless to the printer; this only keeps a tab,
    a newline or a bidi override typed into a name from breaking the layout.
    """
    if not text:
        return ""
    text = text.encode("utf-8", "replace").decode("utf-8")
    kept = [" " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf")]
    return " ".join("".join(kept).split())


@dataclass(frozen=True)
class TicketLabel:
    """Everything printed on a ticket, already formatted for the buyer's language."""

    code: str
    event: str
    when: str
    venue: str
    tariff: str
    price: str
    holder: str
    order_ref: str
    lang: str
    copy: int = 1  # 1 = the original; 2 and more are deliberate reprints
    # A pass has no performance time (`when` is empty): it reads "Valid <from> – <until>", these two days.
    valid_from: str = ""
    valid_until: str = ""


@dataclass(frozen=True)
class ReceiptLine:
    text: str
    amount: Decimal


@dataclass(frozen=True)
class Receipt:
    """A sale receipt: what was bought, the total, how it was paid."""

    venue: str
    order_ref: str
    sold_at: datetime
    lines: Sequence[ReceiptLine]
    total: Decimal
    payment: str
    lang: str


def format_when(at: datetime, lang: str) -> str:
    """'samedi 28 novembre 2026 19:30' — the venue's wall clock in the buyer's language."""
    local = utc(at).astimezone(VENUE_TZ)
    loc = f"{norm_lang(lang)}_CH"
    return clean_text(
        f"{format_date(local.date(), 'full', locale=loc)} {format_time(local.time(), 'HH:mm', locale=loc)}"
    )


def format_day(at: datetime, lang: str) -> str:
    return clean_text(format_date(utc(at).astimezone(VENUE_TZ).date(), "medium", locale=f"{norm_lang(lang)}_CH"))


def format_chf(amount: Decimal, lang: str) -> str:
    """'CHF 1'250.00' in every language (kiosk.domain.money), with a plain space: font 0 has it."""
    del lang  # one Swiss format for all languages; the parameter stays for the label and receipt callers
    return money.format_chf(amount, nbsp=False)


class LabelError(KioskError, ValueError):
    """The ticket cannot be printed (no code, unknown event); the message says which."""

    reason = "label_not_printable"


def ticket_label(ticket: TicketRecord, catalog: Catalog, lang: str | None, copy: int = 1) -> TicketLabel:
    """The label of `ticket`; performance time from the catalog, or the pass's validity window."""
    lang = norm_lang(lang)
    if not ticket.code:
        raise LabelError(f"ticket {ticket.ticket_id} has no code to print")
    if ticket.status is TicketStatus.CANCELLED:
        raise LabelError(f"ticket {ticket.ticket_id} is cancelled; it must not be printed")
    event = catalog.events.get(ticket.event_id)
    if event is None:
        raise LabelError(f"ticket {ticket.ticket_id}: event {ticket.event_id} is not in the catalog")
    tariff = catalog.tariffs.get(ticket.tariff_id)
    perf = catalog.performances.get(ticket.performance_id) if ticket.performance_id is not None else None
    when = valid_from = valid_until = ""
    if perf is not None:
        when = format_when(perf.starts_at, lang)
    else:
        rule = catalog.passes.get(ticket.pass_id) if ticket.pass_id is not None else None
        start = ticket.valid_from or (rule.valid_from if rule else None)
        end = ticket.valid_until or (rule.valid_until if rule else None)
        if start and end:
            valid_from, valid_until = format_day(start, lang), format_day(end, lang)
    return TicketLabel(
        code=ticket.code,
        event=clean_text(pick_text(event.name, lang)),
        when=when,
        venue=clean_text(event.venue),
        tariff=clean_text(pick_text(tariff.name, lang)) if tariff else "",
        price=format_chf(tariff.price, lang) if tariff else "",
        holder=clean_text(ticket.holder_name),
        order_ref=clean_text(ticket.order_ref),
        lang=lang,
        copy=copy,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def char_width(ch: str) -> float:
    """Advance of `ch` as a share of the font height; accented letters take their base letter's width."""
    share = _WIDTH.get(ch)
    if share is None:
        base = unicodedata.normalize("NFD", ch)[:1]
        share = _WIDTH.get(base, _UNKNOWN_WIDTH) if base != ch else _UNKNOWN_WIDTH
    return share


def text_width(text: str, height: int) -> float:
    """Estimated width in dots of `text` at font height `height` (^A0N,h,h), with a safety margin."""
    return sum(char_width(ch) for ch in text) * height * _SAFETY


@dataclass(frozen=True)
class FittedText:
    lines: tuple[str, ...]
    height: int
    truncated: bool = False


def _wrap(text: str, width: int, height: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, height) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for ch in word:  # a word longer than the line is broken between characters
            if current and text_width(current + ch, height) > width:
                lines.append(current)
                current = ""
            current += ch
    if current:
        lines.append(current)
    return lines


def _truncate(line: str, width: int, height: int) -> str:
    while line and text_width(line + ELLIPSIS, height) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def fit_text(text: str, width: int, height: int, min_height: int, max_lines: int = 1) -> FittedText:
    """Largest font (from `height` down to `min_height`) at which `text` fits `max_lines` lines of `width` dots.

    If it does not fit even at `min_height`, the last line is cut and ends in "...": shrunk, wrapped, then
    truncated on purpose — never clipped by the label edge.
    """
    if width <= 0 or height <= 0 or max_lines <= 0:
        raise ValueError("a text box needs a positive width, height and line count")
    text = clean_text(text)
    if not text:
        return FittedText((), height)
    min_height = min(min_height, height)
    step = max(1, height // 20)
    size = height
    while True:
        lines = _wrap(text, width, size)
        if len(lines) <= max_lines:
            return FittedText(tuple(lines), size)
        if size <= min_height:
            break
        size = max(min_height, size - step)
    kept = [*lines[: max_lines - 1], _truncate(lines[max_lines - 1], width, min_height)]
    return FittedText(tuple(kept), min_height, truncated=True)
