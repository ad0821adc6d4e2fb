"""The sales screen with a misbehaving printer, in a real window: a label lost mid-job is printed again by staff
(marked a reprint, logged, in the outbox), and the start screen takes no money while the printer cannot print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.print_tables import print_jobs
from kiosk.demo import venue as dv
from kiosk.demo.printer_emulator import PrinterEmulator
from tests.ui.conftest import run_ui_module

pytestmark = pytest.mark.ui


def plain(value: Any) -> Any:
    """French texts with their non-breaking spaces as plain ones (the catalogs are being reviewed for them)."""
    return json.loads(json.dumps(value).replace("\\u00a0", " "))


def run_sale_driver(env: dict[str, str], scenario: str, workdir: Path, *extra: str) -> dict[str, Any]:
    result = run_ui_module("sale_driver", env, [scenario, str(workdir), *extra], workdir, timeout=150, check_exit=False)
    return plain(result)  # type: ignore[no-any-return]


@pytest.fixture
def emulator(tmp_path: Path):
    emu = PrinterEmulator(out_dir=tmp_path / "printed", png=False, control_port=0).start()
    yield emu
    emu.stop()


def ports(emu: PrinterEmulator) -> tuple[str, ...]:
    return ("--printer-port", str(emu.port), "--control-port", str(emu.control_port))


def test_a_label_lost_mid_job_is_printed_again_by_staff(kivy_env, tmp_path: Path, emulator) -> None:
    seen = run_sale_driver(kivy_env, "reprint", tmp_path / "app", *ports(emulator))
    done = seen["missing_done"]
    assert "Payé, mais tous les billets n'ont pas été imprimés." in done["texts"]
    assert done["count"] == "Billets imprimés : 0 sur 1"
    assert done["print_again"] == [1, False]  # visible and usable
    assert f"Commande {done['ref']}" in done["texts"]
    assert done["ref_font"] >= 48 and done["qr"] >= 21  # large, and as a QR code
    assert "Gardez votre référence de commande" in seen["dead_hint"]  # printer dead: the buyer takes the ref
    assert "Personnel : vérifiez l'imprimante" in seen["back_hint"]  # printer back: no stale "unreachable"
    assert seen["staff_step"][0] == "staff"
    assert seen["wrong_pin"][0] == "staff" and seen["wrong_pin"][1].startswith("PIN erroné.")
    after = seen["after"]
    assert after["count"] == "Billets imprimés : 1 sur 1"
    assert "Merci ! Prenez vos billets." in after["texts"]
    assert after["print_again"] == 0
    assert seen["after_stray_tap"] == "done"

    labels = emulator.wait_for_labels(1, timeout=10)
    assert len(labels) == 1  # the dropped one never printed; the reprint did, once
    store = open_store(tmp_path / "app" / "demo.sqlite")
    with store.read() as conn:
        jobs = {r.job_id: r for r in conn.execute(select(print_jobs))}
        reprints = conn.execute(select(t.outbox).where(t.outbox.c.kind == "reprint")).all()
    store.close()
    (new_id,) = after["jobs"]
    new = jobs[new_id]
    assert (new.state, new.copy) == ("confirmed", 2)
    assert jobs[new.reprint_of].state == "unknown"
    assert len(reprints) == 1


def test_start_screen_takes_no_money_while_the_printer_cannot_print(kivy_env, tmp_path: Path, emulator) -> None:
    seen = run_sale_driver(kivy_env, "gate", tmp_path / "app", *ports(emulator))
    blocked = seen["blocked"]
    assert blocked["buyer"] == "Impossible d'imprimer des billets pour l'instant : appelez un membre du personnel."
    assert blocked["staff"] == "Pour le personnel : Plus de papier : chargez un nouveau rouleau d'étiquettes."
    assert blocked["buyer"] in blocked["texts"] and blocked["staff"] in blocked["texts"]
    assert seen["step_while_blocked"] == "performance"
    assert blocked["buyer"] not in seen["texts_after"]
    assert seen["step_when_ready"] == "tickets"
    assert seen["payment_refused"][0] == "tickets"
    assert seen["payment_refused"][1] == blocked["buyer"]


def test_free_tariffs_need_the_staff_pin_on_an_attended_kiosk(kivy_env, tmp_path: Path, emulator) -> None:
    seen = run_sale_driver(kivy_env, "free", tmp_path / "app", *ports(emulator))
    assert seen["attended"] is True and dv.T_INVITE in seen["tariffs"]
    assert seen["asked"][0] == "staff" and seen["asked"][2] == 0
    assert seen["after_cancel"] == ["tickets", 0]
    assert seen["after_pin"] == ["tickets", 1]
    assert seen["second"] == ["tickets", 2]


def test_free_tariffs_are_not_offered_on_an_unattended_kiosk(kivy_env, tmp_path: Path, emulator) -> None:
    seen = run_sale_driver(kivy_env, "free", tmp_path / "app", *ports(emulator), "--unattended")
    assert seen["attended"] is False
    assert dv.T_INVITE not in seen["tariffs"] and dv.T_FULL in seen["tariffs"]
    assert seen["cart_after_code"] == 0


def test_card_keypad_stays_whole_and_errors_clear_on_new_input(kivy_env, tmp_path: Path, emulator) -> None:
    seen = run_sale_driver(kivy_env, "keypad", tmp_path / "app", *ports(emulator))
    assert seen["card_error"] and seen["card_error_visible"]
    assert seen["keys_above_bar"], seen["back_key"]
    assert seen["card_error_after_key"] == ""
    assert seen["cash_error"] and seen["cash_error_after_key"] == ""
    assert seen["missing"][0].startswith("Il manque")
    assert seen["missing"][1] == seen["tones"]["warning"]
    assert seen["change"][1] == seen["tones"]["ok"]
