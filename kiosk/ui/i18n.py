"""Translations (the gettext catalogs of kiosk/locales, shared with printed labels) and Babel formats for the UI.

Message ids are the English texts. `Translator.tr` is what kv rules call as ``app.tr("…", app.lang)``: passing
``app.lang`` makes Kivy re-evaluate every bound text when the language changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from babel.dates import format_date, format_time, format_timedelta

from kiosk.domain.languages import LANGUAGES, Language
from kiosk.domain.money import format_chf
from kiosk.domain.timeutil import VENUE_TZ
from kiosk.locales import DOMAIN, LOCALE_DIR, N_, Translator, norm

# The catalogs and their Translator live in kiosk.locales (printed labels use them too); the UI imports them here.
__all__ = [
    "BABEL_LOCALES",
    "DOMAIN",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LOCALE_DIR",
    "N_",
    "Translator",
    "age",
    "chf",
    "day_of",
    "long_day_of",
    "norm",
    "time_of",
]

# Swiss variants for dates and times; money has one Swiss format in every language (kiosk.domain.money).
BABEL_LOCALES: dict[Language, str] = {"fr": "fr_CH", "de": "de_CH", "it": "it_CH", "en": "en_CH"}
LANGUAGE_NAMES: dict[Language, str] = {"fr": "Français", "de": "Deutsch", "it": "Italiano", "en": "English"}


def chf(amount: Decimal, lang: str) -> str:
    """'CHF 1'234.50' whatever `lang` is: Swiss tills and price tags write it so in fr, de, it and en alike."""
    del lang  # kept in the signature so callers need not know the format ignores it
    return format_chf(amount)


def time_of(at: datetime, lang: str) -> str:
    return format_time(at.astimezone(VENUE_TZ), "short", locale=BABEL_LOCALES[norm(lang)])


def day_of(at: datetime, lang: str) -> str:
    return format_date(at.astimezone(VENUE_TZ), "EEE d MMM", locale=BABEL_LOCALES[norm(lang)])


def long_day_of(at: datetime, lang: str) -> str:
    return format_date(at.astimezone(VENUE_TZ), "full", locale=BABEL_LOCALES[norm(lang)])


def age(delta: timedelta, lang: str) -> str:
    """'5 minutes' in the language; under a minute reads as seconds."""
    return format_timedelta(delta, threshold=1.0, locale=BABEL_LOCALES[norm(lang)])
