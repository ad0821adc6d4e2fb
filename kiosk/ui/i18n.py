"""Translations (gettext catalogs fr, de, it, en in kiosk/ui/locales) and Babel formats of dates, times and CHF.

Message ids are the English texts. `Translator.tr` is what kv rules call as ``app.tr("…", app.lang)``: passing
``app.lang`` makes Kivy re-evaluate every bound text when the language changes.
"""

from __future__ import annotations

import gettext
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_currency

from kiosk.domain.timeutil import VENUE_TZ

LANGUAGES = ("fr", "de", "it", "en")
DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).parent / "locales"
# Swiss variants: CHF written the Swiss way (CHF 12.50 / 12.50 CHF), apostrophe thousands in de_CH.
BABEL_LOCALES = {"fr": "fr_CH", "de": "de_CH", "it": "it_CH", "en": "en_CH"}
LANGUAGE_NAMES = {"fr": "Français", "de": "Deutsch", "it": "Italiano", "en": "English"}


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined; it is translated where it is shown."""
    return message


def norm(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "fr"


class Translator:
    """All four catalogs loaded once; a missing catalog falls back to the English message id."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._catalogs: dict[str, gettext.NullTranslations] = {
            lang: gettext.translation(DOMAIN, locale_dir, languages=[lang], fallback=True) for lang in LANGUAGES
        }

    def tr(self, message: str, lang: str) -> str:
        return self._catalogs[norm(lang)].gettext(message)

    def has_catalog(self, lang: str) -> bool:
        return type(self._catalogs[norm(lang)]) is not gettext.NullTranslations


def chf(amount: Decimal, lang: str) -> str:
    return format_currency(amount, "CHF", locale=BABEL_LOCALES[norm(lang)])


def time_of(at: datetime, lang: str) -> str:
    return format_time(at.astimezone(VENUE_TZ), "short", locale=BABEL_LOCALES[norm(lang)])


def day_of(at: datetime, lang: str) -> str:
    return format_date(at.astimezone(VENUE_TZ), "EEE d MMM", locale=BABEL_LOCALES[norm(lang)])


def long_day_of(at: datetime, lang: str) -> str:
    return format_date(at.astimezone(VENUE_TZ), "full", locale=BABEL_LOCALES[norm(lang)])


def age(delta: timedelta, lang: str) -> str:
    """'5 minutes' in the language; under a minute reads as seconds."""
    return format_timedelta(delta, threshold=1.0, locale=BABEL_LOCALES[norm(lang)])
