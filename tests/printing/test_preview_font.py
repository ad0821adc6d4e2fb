"""The label preview draws â, É, ß, € as the printer does (a DejaVu font downloaded into zplkit), not as '?'."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from kiosk.adapters.preview_font import CANDIDATES, cmap_codepoints, font_paths, preview_font
from kiosk.adapters.zpl import LabelFormat, preview_safe, render_png, render_ticket
from kiosk.domain.labels import TicketLabel
from tests.printing.helpers import field_texts


def _label(event: str) -> TicketLabel:
    return TicketLabel(
        "K1TESTCODE", event, "samedi 28 novembre 2026 19:30", "Théâtre du Lac", "Plein tarif", "CHF 45.00",
        "Zoë Müller", "W7K2M9QX", "fr",
    )  # fmt: skip


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_a_preview_of_theatre_emile_has_no_replacement_glyphs() -> None:
    font = preview_font()
    assert font is not None, "no DejaVu font: scripts/setup.sh installs fonts-dejavu-core (Kivy ships one too)"
    assert all(font.has(ch) for ch in "Théâtre Émile äöüßç€èàô")
    zpl = render_ticket(_label("Théâtre Émile"), LabelFormat.SHOW, 203).zpl
    assert "Théâtre Émile" in field_texts(preview_safe(zpl, font.has))  # nothing replaced before drawing
    shown = _pixels(render_png(zpl, 203))
    replaced = _pixels(render_png(render_ticket(_label("Thé?tre ?mile"), LabelFormat.SHOW, 203).zpl, 203))
    assert shown.shape == replaced.shape
    # the old preview drew "Thé?tre ?mile" (zplkit's font 0 has é but not â or É): the same picture as this one
    title = slice(0, shown.shape[0] // 12)  # the event's line at the top of the show label
    assert (shown[title] != replaced[title]).sum() > 200  # the accented letters are drawn, not '?'
    ink = (shown[title] < 128).sum()
    assert ink > 500  # and something is drawn at all


def test_the_cmap_reader_sees_what_the_font_lacks(tmp_path: Path) -> None:
    font = preview_font()
    assert font is not None
    codepoints = cmap_codepoints(font.path.read_bytes())
    assert ord("É") in codepoints and ord("€") in codepoints and ord("中") not in codepoints
    zpl = render_ticket(_label("Concert 中"), LabelFormat.CINEMA, 300).zpl
    assert "Concert ?" in field_texts(preview_safe(zpl, font.has))  # only what the font lacks becomes '?'
    assert render_png(zpl, 300).startswith(b"\x89PNG")


def test_a_folder_without_dejavu_falls_back_to_kivys_copy(tmp_path: Path) -> None:
    paths = font_paths(tmp_path)
    assert all(p.name not in CANDIDATES or p.parent != tmp_path for p in paths)
    assert [p.name for p in paths] in ([], ["DejaVuSans.ttf"])
