"""Label data and text fitting (pure domain)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import (
    ELLIPSIS,
    LabelError,
    clean_text,
    fit_text,
    format_chf,
    format_when,
    text_width,
    ticket_label,
)
from kiosk.domain.model import Event, Performance, Tariff, TicketRecord
from kiosk.domain.timeutil import VENUE_TZ

# One character from each Unicode plane that has assigned characters, plus junk a keyboard can produce.
EVERY_PLANE = "A é Ω 中 😀 𠀀 𰀀 x\U000e0100 \U000f0000 \U00100000"


def _catalog() -> Catalog:
    start = datetime(2026, 7, 4, 18, 30, tzinfo=UTC)  # summer: 20:30 in Zurich (UTC+2)
    return Catalog(
        "t",
        events={1: Event(1, {"fr": "Les Nuits du Lac", "de": "Seenächte"}, "Théâtre du Lac")},
        performances={7: Performance(7, 1, start, start)},
        tariffs={3: Tariff(3, 1, {"fr": "Réduit", "de": "Ermässigt"}, Decimal("30.00"))},
    )


def test_ticket_label_uses_zurich_time_and_the_buyers_language() -> None:
    tk = TicketRecord(5, 1, 3, 7, holder_name="Anna\tMüller\n", code="ABC123", order_ref="ORD-1")
    de = ticket_label(tk, _catalog(), "de_CH")
    assert de.event == "Seenächte"
    assert de.when == "Samstag, 4. Juli 2026 20:30"
    assert de.price == "CHF 30.00"
    assert de.holder == "Anna Müller"
    assert de.copy == 1
    fr = ticket_label(tk, _catalog(), "fr", copy=2)
    assert fr.when.startswith("samedi, 4 juillet 2026") and fr.when.endswith("20:30")
    assert fr.tariff == "Réduit"
    assert fr.copy == 2  # its "Réimpression 2" caption is translated where it is printed (test_label_captions)
    assert ticket_label(tk, _catalog(), "es").lang == "en"


_DE_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember")  # fmt: skip


@pytest.mark.all_dates
@pytest.mark.parametrize("minutes", [30, 24 * 60 + 30])
def test_label_of_a_show_soon_after_now_reads_the_zurich_wall_clock(frozen_now: datetime, minutes: int) -> None:
    """Across a DST switch or midnight the label shows the venue's local day and time of the show, not UTC's."""
    start = frozen_now + timedelta(minutes=minutes)
    catalog = replace(_catalog(), performances={7: Performance(7, 1, start, start - timedelta(hours=1))})
    label = ticket_label(TicketRecord(5, 1, 3, 7, code="ABC123"), catalog, "de_CH")
    local = start.astimezone(VENUE_TZ)
    day = f"{_DE_DAYS[local.weekday()]}, {local.day}. {_DE_MONTHS[local.month - 1]} {local.year}"
    assert label.when == f"{day} {local:%H:%M}"


def test_ticket_label_refuses_what_cannot_be_printed() -> None:
    with pytest.raises(LabelError, match="no code"):
        ticket_label(TicketRecord(5, 1, 3, 7), _catalog(), "fr")
    with pytest.raises(LabelError, match="event 9"):
        ticket_label(TicketRecord(5, 9, 3, 7, code="X"), _catalog(), "fr")


def test_winter_time_and_money() -> None:
    assert format_when(datetime(2026, 11, 28, 18, 0, tzinfo=UTC), "en").endswith("19:00")
    assert format_chf(Decimal("45"), "de") == "CHF 45.00"


def test_clean_text_drops_controls_and_bidi_overrides_keeps_letters() -> None:
    assert clean_text("a\x00b\x1b[31mc\u202ed\r\ne\x7f") == "ab[31mcd e"
    assert clean_text("\ud800lone surrogate") == "?lone surrogate"
    assert clean_text(EVERY_PLANE) == EVERY_PLANE
    assert clean_text(None) == ""


def test_a_500_character_name_is_shrunk_then_truncated_on_purpose() -> None:
    name = "Wolfeschlegelsteinhausenbergerdorff " * 14  # 504 characters
    fitted = fit_text(name, 600, 40, 24, max_lines=2)
    assert fitted.truncated and fitted.height == 24 and len(fitted.lines) == 2
    assert fitted.lines[-1].endswith(ELLIPSIS)
    assert all(text_width(line, fitted.height) <= 600 for line in fitted.lines)


def test_short_text_keeps_its_size_and_empty_text_has_no_lines() -> None:
    assert fit_text("Anna", 600, 40, 24).lines == ("Anna",)
    assert fit_text("Anna", 600, 40, 24).height == 40
    assert fit_text("", 600, 40, 24).lines == ()
    assert fit_text("   \t", 600, 40, 24).lines == ()


def test_text_shrinks_before_it_wraps_or_truncates() -> None:
    text = "Les Nuits du Lac, grande soirée de clôture"
    fitted = fit_text(text, 600, 56, 28, max_lines=1)
    assert not fitted.truncated and 28 <= fitted.height < 56
    assert fitted.lines == (text,)


def test_every_unicode_plane_is_measured_and_kept() -> None:
    fitted = fit_text(EVERY_PLANE, 2000, 30, 20, 1)
    assert fitted.lines == (EVERY_PLANE,)


def test_bad_boxes_are_refused() -> None:
    with pytest.raises(ValueError):
        fit_text("x", 0, 30, 20)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8"), max_size=600),
    width=st.integers(40, 1200),
    lines=st.integers(1, 4),
)
def test_fitted_lines_never_exceed_the_box(text: str, width: int, lines: int) -> None:
    fitted = fit_text(text, width, 40, 20, lines)
    assert len(fitted.lines) <= lines
    for line in fitted.lines:
        # One character wider than the box (an emoji in a 40-dot box) is the only allowed overflow: it is alone.
        assert text_width(line, fitted.height) <= width or len(line) == 1
