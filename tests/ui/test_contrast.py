"""Issue 12 point 8: every verdict screen's text reaches 4.5:1 against its background (WCAG), from the theme."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.domain.model import CheckinRecord, Movement
from kiosk.domain.verdicts import Verdict, VerdictCode
from kiosk.ui import presenters, theme
from kiosk.ui.i18n import Translator


def test_the_wcag_formula_on_known_pairs() -> None:
    assert theme.contrast(theme.BLACK, theme.WHITE) == pytest.approx(21.0)
    assert theme.contrast(theme.WHITE, theme.WHITE) == pytest.approx(1.0)
    # the measurement: white on the already-used orange
    assert theme.contrast(theme.WHITE, theme.AMBER) == pytest.approx(2.25, abs=0.05)


@pytest.mark.parametrize("code", list(VerdictCode))
def test_every_verdict_text_reaches_4_5_to_1(code: VerdictCode) -> None:
    first = CheckinRecord("s", 1, Movement.ENTRY, datetime(2026, 11, 28, 18, tzinfo=UTC), "d", "main")
    view = presenters.verdict_view(Verdict(code, first_use=first), Translator().tr, "fr")
    ink = theme.ink_on(view.colour)
    assert theme.contrast(ink, view.colour) >= theme.MIN_CONTRAST, (code, view.colour, ink)


def test_the_store_error_warning_and_the_door_chrome_reach_4_5_to_1() -> None:
    view = presenters.store_error_view("StoreFull", Translator().tr, "fr")
    assert theme.contrast(theme.ink_on(view.colour), view.colour) >= theme.MIN_CONTRAST
    assert theme.contrast(theme.ink_on(theme.BLUE), theme.BLUE) >= theme.MIN_CONTRAST  # the exit banner
    for background in (theme.PANEL, theme.SCREEN, theme.EXIT_TINT):  # history rows, camera state, exit tint
        assert theme.contrast(theme.WHITE, background) >= theme.MIN_CONTRAST


def test_white_on_every_verdict_colour_was_the_bug() -> None:
    """The old rule (white text on every verdict) fails on orange, green and vermillion: ink_on must not pick it."""
    for colour in (theme.AMBER, theme.GREEN, theme.RED):
        assert theme.contrast(theme.WHITE, colour) < theme.MIN_CONTRAST
        assert theme.ink_on(colour) == theme.BLACK
