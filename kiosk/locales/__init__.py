"""The gettext catalogs (fr, de, it, en) of every text the kiosk shows or prints, and the one `Translator` over them.

Message ids are the English texts. Screens (kiosk/ui) and printed labels (kiosk/adapters/zpl.py) both translate
through here, so translators edit one .po per language. Stdlib gettext only: no Kivy, importable anywhere.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

from kiosk.domain.languages import DEFAULT_LANGUAGE, LANGUAGES, Language

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).parent


def N_(message: str) -> str:
    """Marks a text for the catalogs where it is defined; it is translated where it is shown."""
    return message


def norm(lang: str | None) -> Language:
    """`lang` if the product speaks it, else the default language."""
    for known in LANGUAGES:
        if lang == known:
            return known
    return DEFAULT_LANGUAGE


class Translator:
    """All four catalogs loaded once; a missing catalog falls back to the English message id."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._catalogs: dict[Language, gettext.NullTranslations] = {
            lang: gettext.translation(DOMAIN, locale_dir, languages=[lang], fallback=True) for lang in LANGUAGES
        }

    def tr(self, message: str, lang: str) -> str:
        return self._catalogs[norm(lang)].gettext(message)

    def has_catalog(self, lang: str) -> bool:
        return type(self._catalogs[norm(lang)]) is not gettext.NullTranslations


@cache
def translator() -> Translator:
    """The shared translator over the installed catalogs (read once per process)."""
    return Translator()
