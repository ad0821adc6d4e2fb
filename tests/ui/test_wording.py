"""Wording a native reader flagged: de Ausgang/Anwesend, payment terminal in fr/it, one register per language."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from kiosk.locales import LOCALE_DIR, Translator

TR = Translator().tr


@pytest.mark.parametrize(
    ("msgid", "lang", "expected"),
    [
        ("Exit", "de", "Ausgang"),
        ("Entry", "de", "Eingang"),  # the door's mode toggle reads as a pair: Eingang / Ausgang
        ("Exit recorded", "de", "Ausgang erfasst"),
        (
            "Admitted today: {admitted} · Inside now: {inside}",
            "de",
            "Heute eingelassen: {admitted} · Anwesend: {inside}",
        ),
        ("Paid on the card terminal", "fr", "Payé sur le terminal de paiement"),
        ("Paid on the card terminal", "it", "Pagato al terminale di pagamento"),
        (
            "Take the payment on the card terminal, then type the reference it prints.",
            "it",
            "Incassate sul terminale di pagamento, poi digitate il riferimento stampato.",
        ),
    ],
)
def test_flagged_words_are_fixed(msgid: str, lang: str, expected: str) -> None:
    assert TR(msgid, lang) == expected


def _msgstrs(lang: str) -> list[str]:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "kiosk.po").open("rb") as f:
        catalog = read_po(f)
    texts: list[str] = []
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        texts.extend(s for s in strings if s)
    return texts


# Words that only appear in the wrong register (or the flagged wording) of each language.
STRAYS = {
    "fr": r"\b(tu|toi|ton|ta|tes)\b|\bterminal de carte\b",
    "de": r"\b(du|dich|dir|dein\w*)\b|Austritt|\bdrin\b",
    # The Italian UI speaks to buyer and staff with voi ("Scegliete", "Mandate"), not the bare infinitive.
    "it": r"(^|[:.;] |— )(digitare|inserire|scegliere|controllare|attendere|premere|mandare|confermare|incassare|"
    r"liberare|chiamare|scansionare|indicare|chiudere)\b|\b(tu|ti prego|Lei)\b|terminale della carta",
    "en": r"\b(thou|pls|plz)\b",
}


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
def test_one_register_per_language(lang: str) -> None:
    pattern = re.compile(STRAYS[lang], re.IGNORECASE)
    assert [s for s in _msgstrs(lang) if pattern.search(s)] == []
