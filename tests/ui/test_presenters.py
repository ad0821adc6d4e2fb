"""Pure presenters and catalogs (no window): every verdict has its look and words in every language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kiosk.domain.model import CheckinRecord, Movement
from kiosk.domain.sales import SaleError
from kiosk.domain.verdicts import TicketDisplay, Verdict, VerdictCode
from kiosk.ui import i18n, presenters
from kiosk.ui.i18n_tools import extract_messages, missing, stale

TR = i18n.Translator()
AT = datetime(2026, 11, 28, 18, 5, tzinfo=UTC)
DISPLAY = TicketDisplay(7, {"fr": "Réduit", "de": "Ermässigt", "en": "Reduced"}, "reduced", {"fr": "Fête"}, None, AT)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_ui_text_is_translated(lang: str) -> None:
    assert TR.has_catalog(lang)
    assert missing(lang) == []


def test_the_extractor_finds_kv_and_python_texts() -> None:
    found = extract_messages()
    assert any(p.endswith(".kv:" + p.rsplit(":", 1)[1]) for p in found["Type a code"])
    assert "Already used" in found  # an N_() id in presenters.py


@pytest.mark.parametrize("code", list(VerdictCode))
@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_verdict_has_a_title_and_a_look(code: VerdictCode, lang: str) -> None:
    view = presenters.verdict_view(Verdict(code, display=DISPLAY), TR.tr, lang)
    assert view.title
    if lang != "en":
        assert view.title != presenters._TITLES[code]  # translated
    expected = {
        VerdictCode.VALID: ("ok", "circle_check", "ok"),
        VerdictCode.EXIT_RECORDED: ("exit", "arrow_out", "exit"),
        VerdictCode.ALREADY_USED: ("warn", "triangle_bang", "warn"),
    }.get(code, ("stop", "octagon_cross", "stop"))
    assert (view.kind, view.shape, view.sound) == expected


def test_refusals_say_why_and_what_to_do() -> None:
    revoked = presenters.verdict_view(Verdict(VerdictCode.REVOKED), TR.tr, "de")
    assert revoked.detail == "Dieses Ticket ist gesperrt (verloren oder gestohlen gemeldet). Gast zur Kasse schicken."
    forged = presenters.verdict_view(Verdict(VerdictCode.INVALID_SIGNATURE, "bad_signature"), TR.tr, "it")
    assert "alterato" in forged.detail
    other_day = presenters.verdict_view(
        Verdict(VerdictCode.WRONG_PERFORMANCE, "other_date", display=DISPLAY), TR.tr, "fr"
    )
    assert other_day.detail == "Ce billet est pour le sam. 28 nov. à 19:05."  # venue time, French format


def test_already_used_says_when_and_where() -> None:
    first = CheckinRecord("s1", 7, Movement.ENTRY, AT, "door-2", "north")
    view = presenters.verdict_view(Verdict(VerdictCode.ALREADY_USED, first_use=first, display=DISPLAY), TR.tr, "en")
    assert view.detail == "First used Sat 28 Nov 19:05 at door north (door-2)."
    assert (view.tariff, view.tariff_icon) == ("Reduced", "Reduced")


def test_badge_shows_offline_and_data_age() -> None:
    badge = presenters.badge_view(False, timedelta(minutes=12), True, TR.tr, "fr")
    assert badge.text == "Hors ligne · données d'il y a 12 minutes" and badge.colour == presenters.AMBER
    fresh = presenters.badge_view(True, timedelta(seconds=20), False, TR.tr, "de")
    assert fresh.text == "Online · Daten von vor 20 Sekunden" and fresh.colour == presenters.GREEN
    never = presenters.badge_view(False, None, True, TR.tr, "it")
    assert never.text == "Offline · ancora nessun dato dalla centrale"


@pytest.mark.parametrize("reason", sorted(presenters.SALE_ERRORS))
def test_every_sale_refusal_has_words(reason: str) -> None:
    for lang in i18n.LANGUAGES:
        text = presenters.sale_error_text(SaleError(reason), TR.tr, lang)
        assert text and (lang == "en" or text != presenters.SALE_ERRORS[reason])


@pytest.mark.parametrize("state", ["paper_out", "head_open", "unreachable", "paused", "ribbon_out"])
def test_printer_problems_in_words(state: str) -> None:
    assert presenters.printer_text(state, TR.tr, "fr") != presenters.printer_text(state, TR.tr, "en")


def test_swiss_money_formats() -> None:
    assert i18n.chf(Decimal("1234.5"), "de") == "CHF\xa01'234.50"
    assert i18n.chf(Decimal("12.5"), "fr") == "CHF\xa012.50"
    assert i18n.chf(Decimal("12.5"), "it") == "CHF\xa012.50"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_compiled_catalog_matches_its_po(lang: str) -> None:
    assert stale(lang) == []
