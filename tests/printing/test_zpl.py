"""ZPL templates: bar codes decode back to the ticket code, nothing is clipped, buyer text cannot inject commands."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zplkit.parse import parse

from kiosk.adapters.zpl import (
    DPIS,
    LabelFormat,
    LayoutError,
    dots,
    hex_field,
    preview_safe,
    render_png,
    render_receipt,
    render_ticket,
)
from kiosk.domain.labels import Receipt, ReceiptLine, TicketLabel, clean_text
from tests.printing.helpers import decode, field_texts, raster

SIGNED = (
    "K1044T8BJHLA33M0000000200001JG008100000340M03F8T0AW5A48WF4AAQVPM7W6UQUAMPGMA7ULEHMMB1GS9VU8TCX1T1K3QJE3V23GSJQ3"
    "FV6HE8UKAB44CLN7PBV7VSCLMQ8K60GS"
)
PLAIN = "DLL32T99XGTG"
TEMPLATES = [(fmt, dpi) for fmt in LabelFormat for dpi in DPIS]
INJECTIONS = ["^XA^FDX^FS^XZ", "~JR", "~JA^XZ^XA^FO0,0^GB800,800,800^FS", "a\x00b\x02c\x03\x10\x1b", "_5E_XA", "\\&"]


def _label(code: str = PLAIN, **kw: object) -> TicketLabel:
    base: dict[str, object] = {
        "code": code,
        "event": "Seenächte — Große Bühne",
        "when": "Samstag, 28. November 2026 19:30",
        "venue": "Théâtre du Lac, Neuchâtel",
        "tariff": "Ermässigt AHV/Studierende",
        "price": "CHF 30.00",
        "holder": "Anna Müller",
        "order_ref": "ORD-102188",
        "lang": "de",
    }
    base.update(kw)
    return TicketLabel(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fmt", "dpi"), TEMPLATES)
@pytest.mark.parametrize("code", [PLAIN, SIGNED], ids=["plain", "signed"])
def test_every_template_decodes_back_to_the_ticket_code(fmt: LabelFormat, dpi: int, code: str) -> None:
    rendered = render_ticket(_label(code, copy=2), fmt, dpi)
    img = raster(rendered.zpl, dpi)
    w_mm, h_mm = {"show": (82, 203.2), "cinema": (101.6, 76.2)}[fmt]
    assert img.shape == (dots(h_mm, dpi), dots(w_mm, dpi))
    found = decode(img)
    assert found["QRCode"] == code
    if code == PLAIN:
        assert rendered.has_code128 and found["Code128"] == code
    else:  # 143 characters would need a 40 cm Code 128: the QR carries it alone, by design
        assert not rendered.has_code128 and "Code128" not in found
    _assert_nothing_clipped(img, rendered.placed, dpi)


def _assert_nothing_clipped(img: np.ndarray, placed: tuple, dpi: int) -> None:
    """No ink in the outer 2 mm (the margin is 4 mm), and every element's box lies inside the label."""
    edge = dots(2, dpi)
    ink = img < 128
    assert not ink[:edge].any() and not ink[-edge:].any()
    assert not ink[:, :edge].any() and not ink[:, -edge:].any()
    h, w = img.shape
    boxes = np.zeros_like(ink)
    tol = dots(0.5, dpi)  # glyph ink may sit a little outside its nominal cell (accents, descenders)
    for p in placed:
        assert p.x >= 0 and p.x + p.w <= w and p.y >= 0 and p.y + p.h <= h, p
        boxes[max(0, p.y - tol) : p.y + p.h + tol, max(0, p.x - tol) : p.x + p.w + tol] = True
    stray = ink & ~boxes
    assert not stray.any(), f"ink outside every element's box at {np.argwhere(stray)[:5].tolist()}"


@pytest.mark.parametrize(("fmt", "dpi"), TEMPLATES)
def test_worst_case_text_is_shrunk_and_truncated_never_clipped(fmt: LabelFormat, dpi: int) -> None:
    long = "Wolfeschlegelsteinhausenbergerdorff-Müller " * 12
    label = _label(SIGNED, event=long, when=long, venue=long, tariff=long, price=long, holder=long, order_ref=long)
    rendered = render_ticket(label, fmt, dpi)
    assert {"event", "holder"} <= set(rendered.truncated)
    img = raster(rendered.zpl, dpi)
    assert decode(img)["QRCode"] == SIGNED
    _assert_nothing_clipped(img, rendered.placed, dpi)


@pytest.mark.parametrize("fmt", list(LabelFormat))
def test_empty_fields_leave_a_valid_label(fmt: LabelFormat) -> None:
    label = _label(holder="", order_ref="", venue="", when="", tariff="", price="")
    rendered = render_ticket(label, fmt, 203)
    assert decode(raster(rendered.zpl, 203))["QRCode"] == PLAIN


@pytest.mark.parametrize("evil", INJECTIONS)
def test_buyer_text_cannot_become_a_printer_command(evil: str) -> None:
    rendered = render_ticket(_label(holder=evil, event=evil), LabelFormat.SHOW, 203)
    zpl = rendered.zpl
    elements = parse(zpl).elements
    assert [e.kind for e in elements if e.kind == "control_command"] == []  # no ~ command at all
    commands = [bytes(e)[:3] for e in elements if e.kind == "format_command"]
    assert commands.count(b"^XA") == 1 and commands.count(b"^XZ") == 1
    assert b"~" not in zpl and zpl.count(b"^XA") == 1
    assert clean_text(evil) in field_texts(zpl)  # printed as text, byte for byte
    # and the preview still renders it as text
    assert decode(raster(zpl, 203))["QRCode"] == PLAIN


def test_every_byte_of_field_data_is_hex_escaped() -> None:
    assert hex_field("^~_A") == "_5E_7E_5F_41"
    assert hex_field("ü€😀") == "_C3_BC_E2_82_AC_F0_9F_98_80"


def test_glyphs_the_preview_lacks_are_printed_for_real() -> None:
    rendered = render_ticket(_label(holder="Groß Müller 5 €"), LabelFormat.SHOW, 203)
    assert "Groß Müller 5 €" in field_texts(rendered.zpl)  # the printer gets ß, ü and €
    assert "Gro? M?ller 5 ?" in field_texts(preview_safe(rendered.zpl))  # only zplkit's preview replaces them
    assert render_png(rendered.zpl).startswith(b"\x89PNG")


def test_every_unicode_plane_goes_through() -> None:
    planes = "A é Ω 中 😀 𠀀 𰀀 x\U000e0100 \U000f0000 \U00100000"
    rendered = render_ticket(_label(holder=planes), LabelFormat.CINEMA, 300)
    assert planes in field_texts(rendered.zpl)
    assert decode(raster(rendered.zpl, 300))["QRCode"] == PLAIN


def test_unsupported_resolution_is_refused() -> None:
    with pytest.raises(LayoutError, match="600 dpi"):
        render_ticket(_label(), LabelFormat.SHOW, 600)


@pytest.mark.parametrize("dpi", DPIS)
def test_receipt_lists_lines_and_total(dpi: int) -> None:
    receipt = Receipt(
        "Théâtre du Lac",
        "ORD-1",
        datetime(2026, 11, 28, 18, 0, tzinfo=UTC),
        [ReceiptLine("2 × Plein tarif", Decimal("90.00")), ReceiptLine("1 × Enfant " * 30, Decimal("15.00"))],
        Decimal("105.00"),
        "Carte / TWINT",
        "fr",
    )
    rendered = render_receipt(receipt, dpi)
    texts = field_texts(rendered.zpl)
    assert "Quittance" in texts and "CHF 105.00" in texts and "CHF 90.00" in texts
    assert "line1" in rendered.truncated
    _assert_nothing_clipped(raster(rendered.zpl, dpi), rendered.placed, dpi)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=300), st.sampled_from(TEMPLATES))
def test_no_typed_text_ever_adds_a_command(text: str, template: tuple[LabelFormat, int]) -> None:
    rendered = render_ticket(_label(holder=text, event=text, order_ref=text), *template)
    elements = parse(rendered.zpl).elements
    assert not [e for e in elements if e.kind in ("control_command", "control_character")]
    heads = [bytes(e)[:3] for e in elements if e.kind == "format_command"]
    assert heads.count(b"^XA") == 1 and heads[-1] == b"^XZ"
    if clean_text(text):
        assert any(t and clean_text(text).startswith(t.removesuffix("...")) for t in field_texts(rendered.zpl))
