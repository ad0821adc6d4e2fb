"""The technician screen in a real window: central's pending wipe, why central refused, test print and preview."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import run_ui_module

pytestmark = pytest.mark.ui


def run_technician(env: dict[str, str], workdir: Path, *extra: str) -> dict[str, Any]:
    return run_ui_module("technician_driver", env, [str(workdir), *extra], workdir)


def test_a_wipe_central_asked_for_and_the_last_refusal_are_on_the_technician_screen(
    kivy_env: dict[str, str], tmp_path: Path
) -> None:
    seen = run_technician(kivy_env, tmp_path, "--lang", "fr", "--wipe", "--rejected", "out_of_scope")
    banner = "La centrale a demandé d'effacer cet appareil — confirmez avec kiosk-provision wipe sur l'appareil"
    assert seen["wipe_text"] == banner and banner in seen["texts"]  # drawn, not only set
    assert seen["banner"]["opacity"] == 1 and seen["banner"]["height"] > 20
    assert "2 rejetés" in seen["sync_text"]
    refusal = "dernier refus : le rôle de cet appareil ne permet pas de l'enregistrer (out_of_scope)"
    assert refusal in seen["sync_text"].splitlines()
    assert "too_large" not in seen["sync_text"]  # the newest dead letter's reason, not an older one


def test_without_a_wipe_request_the_banner_takes_no_room(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_technician(kivy_env, tmp_path, "--lang", "de", "--rejected", "conflicting_repeat:seq")
    assert seen["wipe_text"] == "" and seen["banner"]["height"] == 0 and seen["banner"]["opacity"] == 0
    assert "zuletzt abgelehnt: Wiederholung mit anderem Inhalt (conflicting_repeat:seq)" in seen["sync_text"]


def test_the_test_print_is_in_the_screens_language_on_the_configured_stock(
    kivy_env: dict[str, str], tmp_path: Path
) -> None:
    seen = run_technician(kivy_env, tmp_path, "--lang", "it", "--print")
    printed = seen["test_print"]
    assert (printed["format"], printed["dpi"]) == (seen["stock"]["format"], seen["stock"]["dpi"])  # ticket stock
    assert printed["lang"] == "it"
    assert "Stampa di prova" in printed["texts"] and "Non è un biglietto" in printed["texts"]
    assert f"Etichette: {printed['format']}, {printed['dpi']} dpi" in printed["texts"]
    assert not any("Testdruck" in t or "Test print" in t for t in printed["texts"])  # was English/German
    assert seen["preview"].endswith("-it.png")
