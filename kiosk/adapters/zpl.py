"""ZPL rendering of tickets and receipts (pure: text in, bytes out; no printer, no socket).

Formats of the Infomaniak sales pack: "show" 82 x 203.2 mm and "cinema" 101.6 x 76.2 mm, at 203 or 300 dpi.
Every label starts with `^CI28` (UTF-8) and every field's data goes through `^FH` with *every byte* hex-escaped
(`_5E` for `^`), so no buyer-typed text — `^XA^FDX^FS^XZ`, `~JR`, control characters — can ever be read as a
printer command. Text is laid out by `kiosk.domain.labels.fit_text` (shrink, wrap, then truncate on purpose) and
every element's box is recorded, so `LayoutError` is raised rather than a label printed with something clipped.

The QR (`^BQN`, model 2, error correction M) uses 0.5 mm modules, large enough for the door scanners; its size is
computed with segno so that space is reserved exactly. The Code 128 is printed only when the code fits at a
0.25 mm module (a 143-character signed code would need a 40 cm bar code); the QR always carries the code.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import segno

from kiosk.domain.errors import KioskError
from kiosk.domain.labels import (
    FittedText,
    Receipt,
    TicketLabel,
    clean_text,
    fit_text,
    format_chf,
    format_when,
    norm_lang,
)
from kiosk.locales import N_, translator


class LabelFormat(enum.StrEnum):
    SHOW = "show"
    CINEMA = "cinema"


DPIS = (203, 300)
STOCK_MM: dict[LabelFormat, tuple[float, float]] = {
    LabelFormat.SHOW: (82.0, 203.2),
    LabelFormat.CINEMA: (101.6, 76.2),
}
RECEIPT_WIDTH_MM = 101.6
MARGIN_MM = 4.0
QR_MODULE_MM = 0.5
CODE128_MODULE_MM = 0.25
CODE128_HEIGHT_MM = 10.0


class LayoutError(KioskError, ValueError):
    """Something would not fit on the label; raised instead of printing a clipped ticket."""

    reason = "label_overflow"


def dots(mm: float, dpi: int) -> int:
    return round(mm * dpi / 25.4)


def hex_field(text: str) -> str:
    """Field data for `^FH`: every UTF-8 byte as `_XX`, so the printer sees no command characters at all."""
    return "".join(f"_{b:02X}" for b in text.encode("utf-8", "replace"))


@dataclass(frozen=True)
class Placed:
    """A drawn element's box in dots (for overflow checks and tests)."""

    kind: str
    x: int
    y: int
    w: int
    h: int
    text: str = ""


@dataclass(frozen=True)
class RenderedLabel:
    zpl: bytes
    width: int
    height: int
    dpi: int
    placed: tuple[Placed, ...]
    has_code128: bool
    truncated: tuple[str, ...] = ()


@lru_cache(maxsize=64)
def qr_modules(data: str) -> int:
    """Width in modules of the QR symbol for `data` at error correction M (no quiet zone)."""
    try:
        qr = segno.make_qr(data, error="M", mask=0, boost_error=False)  # the mask does not change the size
    except ValueError as exc:  # segno.DataOverflowError is a ValueError
        raise LayoutError(f"a {len(data)}-character code does not fit in any QR code: {exc}") from exc
    return int(qr.symbol_size(border=0)[0])


def code128_fits(code: str, width: int, module: int) -> bool:
    """Code 128 subset B: 11 modules a character, plus start, check and stop, plus 10-module quiet zones."""
    if not code or not all(32 <= ord(ch) < 127 for ch in code):
        return False
    return (11 * len(code) + 35 + 20) * module <= width


@dataclass
class _Canvas:
    width: int
    height: int
    dpi: int
    parts: list[str] = field(default_factory=list)
    placed: list[Placed] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)

    def mm(self, value: float) -> int:
        return dots(value, self.dpi)

    def _place(self, item: Placed) -> None:
        if item.x < 0 or item.y < 0 or item.x + item.w > self.width or item.y + item.h > self.height:
            raise LayoutError(f"{item.kind} at ({item.x},{item.y}) size {item.w}x{item.h} leaves the label")
        self.placed.append(item)

    def text(self, name: str, value: str, x: int, y: int, w: int, size_mm: float, min_mm: float, lines: int = 1) -> int:
        """Fit `value` into a box `w` dots wide; returns the y below it (unchanged when there is no text)."""
        fitted: FittedText = fit_text(value, w, self.mm(size_mm), self.mm(min_mm), lines)
        if fitted.truncated:
            self.truncated.append(name)
        line_h = fitted.height
        for line in fitted.lines:
            self._place(Placed(name, x, y, w, line_h, line))
            self.parts.append(f"^FO{x},{y}^A0N,{line_h},{line_h}^FH^FD{hex_field(line)}^FS")
            y += line_h + max(2, line_h // 8)
        return y

    def band(self, value: str, x: int, y: int, w: int, size_mm: float) -> int:
        """White text on a black bar (the reprint mark: seen at a glance by the door staff)."""
        h = self.mm(size_mm)
        fitted = fit_text(value, w - 2 * self.mm(1.5), self.mm(size_mm * 0.7), self.mm(2.5), 1)
        self._place(Placed("band", x, y, w, h, value))
        self.parts.append(f"^FO{x},{y}^GB{w},{h},{h}^FS")
        th = fitted.height
        for line in fitted.lines:
            self.parts.append(f"^FO{x + self.mm(1.5)},{y + (h - th) // 2}^A0N,{th},{th}^FR^FH^FD{hex_field(line)}^FS")
        return y + h + self.mm(1.5)

    def rule(self, x: int, y: int, w: int) -> int:
        t = max(2, self.mm(0.3))
        self._place(Placed("rule", x, y, w, t))
        self.parts.append(f"^FO{x},{y}^GB{w},{t},{t}^FS")
        return y + t + self.mm(2)

    def qr(self, code: str, x: int, y: int, max_w: int) -> tuple[int, int]:
        """Draw the QR at (x, y); returns its (width, height) in dots. Shrinks the module only if it must."""
        n = qr_modules(code)
        module = max(1, self.mm(QR_MODULE_MM))
        while module > 1 and n * module > max_w:
            module -= 1
        if module < self.mm(0.33):
            raise LayoutError(f"the QR of a {len(code)}-character code does not fit {max_w} dots at a scannable size")
        # ^BQ starts drawing about 10 dots below ^FO on Zebra firmware; reserve it.
        size = n * module
        self._place(Placed("qr", x, y, size, size + 10, code))
        self.parts.append(f"^FO{x},{y}^BQN,2,{module},M^FH^FDMA,{hex_field(code)}^FS")
        return size, size + 10

    def code128(self, code: str, x: int, y: int, max_w: int) -> int:
        """Draw a Code 128 when the code fits at a scannable module; returns the y below it."""
        module = max(2, self.mm(CODE128_MODULE_MM))
        if not code128_fits(code, max_w, module):
            return y
        h = self.mm(CODE128_HEIGHT_MM)
        w = (11 * len(code) + 35) * module
        bx = x + (max_w - w) // 2
        self._place(Placed("code128", bx, y, w, h, code))
        self.parts.append(f"^FO{bx},{y}^BY{module},3,{h}^BCN,{h},N,N,N,A^FH^FD{hex_field(code)}^FS")
        return y + h + self.mm(2)

    def zpl(self) -> bytes:
        head = f"^XA^CI28^PW{self.width}^LL{self.height}^LH0,0"
        return "\n".join([head, *self.parts, "^XZ", ""]).encode("ascii")

    def result(self) -> RenderedLabel:
        has_128 = any(p.kind == "code128" for p in self.placed)
        return RenderedLabel(
            self.zpl(), self.width, self.height, self.dpi, tuple(self.placed), has_128, tuple(self.truncated)
        )


def _canvas(fmt: LabelFormat, dpi: int) -> _Canvas:
    if dpi not in DPIS:
        raise LayoutError(f"unsupported resolution {dpi} dpi (use one of {DPIS})")
    w_mm, h_mm = STOCK_MM[LabelFormat(fmt)]
    return _Canvas(dots(w_mm, dpi), dots(h_mm, dpi), dpi)


def render_ticket(label: TicketLabel, fmt: LabelFormat | str = LabelFormat.SHOW, dpi: int = 203) -> RenderedLabel:
    """The ticket as ZPL for `fmt` at `dpi`; raises `LayoutError` rather than clip anything."""
    fmt = LabelFormat(fmt)
    c = _canvas(fmt, dpi)
    lb = _captioned(label)
    return _show(c, lb) if fmt is LabelFormat.SHOW else _cinema(c, lb)


@dataclass(frozen=True)
class _Captioned:
    """A label's fields plus its captions, translated through the UI's gettext catalog (kiosk/locales)."""

    code: str
    event: str
    when: str
    venue: str
    tariff: str
    price: str
    holder: str
    reprint_mark: str
    order_line: str


def _captioned(lb: TicketLabel) -> _Captioned:
    tr, lang = translator().tr, norm_lang(lb.lang)
    when = lb.when
    if not when and lb.valid_from and lb.valid_until:
        when = tr(N_("Valid {start} – {end}"), lang).format(start=lb.valid_from, end=lb.valid_until)
    reprint = tr(N_("Reprint {n}"), lang).format(n=lb.copy) if lb.copy > 1 else ""
    order = tr(N_("Order {ref}"), lang).format(ref=lb.order_ref) if lb.order_ref else ""
    return _Captioned(lb.code, lb.event, when, lb.venue, lb.tariff, lb.price, lb.holder, reprint, order)


def _show(c: _Canvas, lb: _Captioned) -> RenderedLabel:
    m = c.mm(MARGIN_MM)
    w = c.width - 2 * m
    stub_top = c.height - c.mm(38)
    y = m
    if lb.reprint_mark:
        y = c.band(lb.reprint_mark, m, y, w, 8)
    y = c.text("event", lb.event, m, y, w, 7, 3.5, 3)
    y = c.text("when", lb.when, m, y + c.mm(1), w, 4.5, 3, 2)
    y = c.text("venue", lb.venue, m, y, w, 4, 3, 2)
    y = c.rule(m, y + c.mm(1), w)
    y = c.text("tariff", lb.tariff, m, y, w, 4.5, 3, 2)
    y = c.text("price", lb.price, m, y, w, 6, 4, 1)
    y = c.text("holder", lb.holder, m, y + c.mm(1), w, 4.5, 3, 2)
    y = c.rule(m, y + c.mm(1), w)
    n = qr_modules(lb.code)
    qr_w = n * max(1, c.mm(QR_MODULE_MM))
    _, qr_h = c.qr(lb.code, (c.width - qr_w) // 2, y + c.mm(2), w)
    y += c.mm(2) + qr_h + c.mm(3)
    y = c.code128(lb.code, m, y, w)
    y = c.text("code", lb.code, m, y, w, 2.5, 2, 5)
    if y > stub_top:
        raise LayoutError(f"show ticket body ends at {y} dots, below the stub at {stub_top}")
    # The stub (torn off or kept by the venue): order, tariff, price, reprint mark.
    y = c.rule(m, stub_top, w)
    y = c.text("stub_event", lb.event, m, y, w, 3.5, 2.5, 1)
    y = c.text("stub_order", lb.order_line, m, y, w, 3.5, 2.5, 1)
    y = c.text("stub_tariff", f"{lb.tariff} {lb.price}".strip(), m, y, w, 3.5, 2.5, 1)
    c.text("stub_reprint", lb.reprint_mark, m, y, w, 3.5, 2.5, 1)
    return c.result()


def _cinema(c: _Canvas, lb: _Captioned) -> RenderedLabel:
    m = c.mm(MARGIN_MM)
    n = qr_modules(lb.code)
    qr_w = n * max(1, c.mm(QR_MODULE_MM))
    area_w = max(qr_w, c.mm(26))
    col_w = c.width - 3 * m - area_w
    area_x = c.width - m - area_w
    # The QR goes first: a ^BY left by the Code 128 would change how some firmware sizes a ^BQ.
    _, qr_h = c.qr(lb.code, area_x + (area_w - qr_w) // 2, m, area_w)
    code_bottom = c.text("code", lb.code, area_x, m + qr_h + c.mm(1), area_w, 2.2, 1.8, 6)
    bottom = c.height - m
    module128 = max(2, c.mm(CODE128_MODULE_MM))
    if code128_fits(lb.code, c.width - 2 * m, module128):
        top128 = c.height - m - c.mm(CODE128_HEIGHT_MM)
        c.code128(lb.code, m, top128, c.width - 2 * m)
        bottom = top128 - c.mm(2)
    y = m
    if lb.reprint_mark:
        y = c.band(lb.reprint_mark, m, y, col_w, 7)
    y = c.text("event", lb.event, m, y, col_w, 6, 3, 2)
    y = c.text("when", lb.when, m, y + c.mm(0.5), col_w, 3.8, 2.5, 2)
    y = c.text("venue", lb.venue, m, y, col_w, 3.2, 2.5, 1)
    y = c.text("tariff", lb.tariff, m, y + c.mm(1), col_w, 3.8, 2.5, 2)
    y = c.text("price", lb.price, m, y, col_w, 5, 3.5, 1)
    y = c.text("holder", lb.holder, m, y + c.mm(0.5), col_w, 3.8, 2.5, 1)
    y = c.text("order", lb.order_line, m, y, col_w, 3, 2.2, 1)
    if max(y, code_bottom) > bottom:
        raise LayoutError(f"cinema ticket text ends at {max(y, code_bottom)} dots, below {bottom}")
    return c.result()


def render_receipt(receipt: Receipt, dpi: int = 203) -> RenderedLabel:
    """A sale receipt on the cinema stock width; the label length grows with the number of lines."""
    if dpi not in DPIS:
        raise LayoutError(f"unsupported resolution {dpi} dpi (use one of {DPIS})")
    tr, lang = translator().tr, norm_lang(receipt.lang)
    width = dots(RECEIPT_WIDTH_MM, dpi)
    line_h = dots(5.5, dpi)
    height = dots(60, dpi) + line_h * 2 * len(receipt.lines)
    c = _Canvas(width, height, dpi)
    m = c.mm(MARGIN_MM)
    w = width - 2 * m
    amount_w = c.mm(28)
    y = c.text("title", tr(N_("Receipt"), lang), m, m, w, 6, 4, 1)
    y = c.text("venue", clean_text(receipt.venue), m, y, w, 3.5, 2.5, 2)
    y = c.text("when", format_when(receipt.sold_at, lang), m, y, w, 3.5, 2.5, 1)
    order = tr(N_("Order {ref}"), lang).format(ref=clean_text(receipt.order_ref))
    y = c.text("order", order, m, y, w, 3.5, 2.5, 1)
    y = c.rule(m, y + c.mm(1), w)
    for i, line in enumerate(receipt.lines):
        top = y
        y = c.text(f"line{i}", line.text, m, top, w - amount_w - c.mm(2), 3.5, 2.5, 2)
        c.text(f"amount{i}", format_chf(line.amount, lang), width - m - amount_w, top, amount_w, 3.5, 2.5, 1)
        y = max(y, top + line_h)
    y = c.rule(m, y, w)
    top = y
    c.text("total_caption", tr(N_("Total"), lang), m, top, w - amount_w, 5, 3.5, 1)
    y = c.text("total", format_chf(receipt.total, lang), width - m - amount_w, top, amount_w, 5, 3.5, 1)
    y = c.text("payment", clean_text(receipt.payment), m, y + c.mm(1), w, 3.5, 2.5, 1)
    return c.result()


# --- offline preview -------------------------------------------------------------------------------------------

_FIELD = re.compile(rb"\^FH\^FD((?:MA,)?)((?:_[0-9A-F]{2})*)\^FS")


@lru_cache(maxsize=4096)
def zplkit_has_glyph(ch: str) -> bool:
    """Whether zplkit's font 0 can draw `ch` (it lacks e.g. ä, ß, €, which real printers print)."""
    import zplkit
    from zplkit.rendering import RenderError

    try:
        zplkit.render(
            f"^XA^CI28^FO1,1^A0N,20,20^FH^FD{hex_field(ch)}^FS^XZ".encode("ascii"),
            zplkit.Options(dpi=203, width=64, height=32),
        )
    except RenderError:
        return False
    return True


def preview_safe(zpl: bytes, has_glyph: Callable[[str], bool] | None = None) -> bytes:
    """The same ZPL with text glyphs the preview cannot draw (`has_glyph`: zplkit's font 0 by default) replaced
    by '?', for previews only (never sent to print).

    Bar code data (the QR's `MA,` fields and the Code 128) is left alone: its text is encoded, not drawn.
    """

    has = has_glyph or zplkit_has_glyph

    def fix(match: re.Match[bytes]) -> bytes:
        prefix, data = match.group(1), match.group(2)
        start = zpl.rfind(b"^FO", 0, match.start())
        if prefix or b"^BC" in zpl[start : match.start()]:
            return match.group(0)
        text = bytes.fromhex(data.replace(b"_", b"").decode("ascii")).decode("utf-8", "replace")
        safe = "".join(ch if has(ch) else "?" for ch in text)
        return b"^FH^FD" + hex_field(safe).encode("ascii") + b"^FS"

    return _FIELD.sub(fix, zpl)


def render_png(zpl: bytes, dpi: int = 203) -> bytes:
    """PNG of the first label in `zpl`, via zplkit (offline); size from the label's ^PW/^LL.

    Text is drawn with a DejaVu font where one is installed (kiosk.adapters.preview_font), else zplkit's font 0."""
    import zplkit

    from kiosk.adapters.preview_font import preview_font

    font = preview_font()
    data = preview_safe(zpl) if font is None else font.apply(preview_safe(zpl, font.has))
    doc = zplkit.render(data, zplkit.Options(dpi=dpi))
    if not doc.labels:
        raise LayoutError("the ZPL holds no label")
    return bytes(doc.labels[0].png())
