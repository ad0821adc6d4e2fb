"""A scan the store could not record is shown as a warning that says why (issue 11 #8, #9), in every language."""

from __future__ import annotations

from kiosk.ui import i18n, presenters

TR = i18n.Translator()


def test_a_full_disk_and_a_busy_store_say_nothing_was_recorded() -> None:
    full = presenters.store_error_view("StoreFull: /var/lib/kiosk/kiosk.sqlite: the disk is full", TR.tr, "fr")
    assert (full.kind, full.shape, full.sound) == ("warn", "triangle_bang", "warn")
    assert full.title == "Non enregistré" and "disque est plein" in full.detail and "technicien" in full.detail
    busy = presenters.store_error_view("StoreBusy: the database stayed locked", TR.tr, "de")
    assert busy.title == "Nicht erfasst" and "erneut scannen" in busy.detail.lower()
