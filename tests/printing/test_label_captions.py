"""Printed captions come from the UI's gettext catalogs (kiosk/locales): one place for translators, every language."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.adapters.zpl import LabelFormat, render_receipt, render_ticket
from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import Receipt, ReceiptLine, ticket_label
from kiosk.domain.languages import LANGUAGES
from kiosk.domain.model import Event, PassRule, Performance, Tariff, TicketRecord
from kiosk.locales import LOCALE_DIR
from kiosk.ui.i18n_tools import extract_messages, missing, po_path, stale
from tests.printing.helpers import field_texts

START = datetime(2027, 3, 28, 18, 30, tzinfo=UTC)  # the night DST starts in Zurich
CATALOG = Catalog(
    "t",
    events={1: Event(1, {"fr": "Les Nuits du Lac"}, "Théâtre du Lac")},
    performances={7: Performance(7, 1, START, START)},
    tariffs={3: Tariff(3, 1, {"fr": "Plein"}, Decimal("45.00"))},
    passes={2: PassRule(2, 3, {"fr": "Abonnement"}, datetime(2027, 1, 1, tzinfo=UTC), START)},
)
# What a translator wrote in each .po; English is the message id itself.
EXPECTED = {
    "fr": ("Réimpression 2", "Commande ORD-1", "Valable", "Quittance", "Total"),
    "de": ("Nachdruck 2", "Bestellung ORD-1", "Gültig", "Quittung", "Total"),
    "it": ("Ristampa 2", "Ordine ORD-1", "Valido", "Ricevuta", "Totale"),
    "en": ("Reprint 2", "Order ORD-1", "Valid", "Receipt", "Total"),
}


@pytest.mark.parametrize("fmt", list(LabelFormat))
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_ticket_prints_its_captions_in_the_buyers_language(lang: str, fmt: LabelFormat) -> None:
    reprint, order, valid, _, _ = EXPECTED[lang]
    sold = TicketRecord(5, 1, 3, 7, code="ABC123", order_ref="ORD-1")
    texts = field_texts(render_ticket(ticket_label(sold, CATALOG, lang, copy=2), fmt).zpl)
    assert reprint in texts and order in texts
    season = TicketRecord(6, 1, 3, pass_id=2, code="PASS1")
    label = ticket_label(season, CATALOG, lang)
    printed = " ".join(field_texts(render_ticket(label, fmt).zpl))  # a long line wraps into two fields
    assert f"{valid} {label.valid_from} – {label.valid_until}" in printed


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_receipt_prints_its_captions_in_the_buyers_language(lang: str) -> None:
    _, order, _, title, total = EXPECTED[lang]
    receipt = Receipt("Théâtre du Lac", "ORD-1", START, [ReceiptLine("1 × Plein", Decimal(45))], Decimal(45), "-", lang)
    texts = field_texts(render_receipt(receipt).zpl)
    assert {title, order, total} <= set(texts)


def test_label_captions_are_in_the_catalog_completeness_check() -> None:
    found = extract_messages()
    for caption in ("Reprint {n}", "Order {ref}", "Valid {start} – {end}", "Receipt", "Total"):
        assert any(place.startswith("adapters/zpl.py:") for place in found[caption]), caption


def test_an_untranslated_or_uncompiled_caption_is_reported(tmp_path: Path) -> None:
    shutil.copytree(LOCALE_DIR, tmp_path, dirs_exist_ok=True)
    po = po_path("de", tmp_path)
    text = po.read_text(encoding="utf-8")
    assert 'msgstr "Nachdruck {n}"' in text
    po.write_text(text.replace('msgstr "Nachdruck {n}"', 'msgstr ""'), encoding="utf-8")
    assert missing("de", tmp_path) == ["Reprint {n}"]
    po.write_text(text.replace('msgstr "Nachdruck {n}"', 'msgstr "Neudruck {n}"'), encoding="utf-8")
    assert stale("de", tmp_path) == ["Reprint {n}"]
    assert missing("de") == [] and stale("de") == []  # the shipped catalogs are complete and compiled
