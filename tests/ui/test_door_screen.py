"""The door screen in a real window: keypad touches, USB wedge, verdict colours/shapes/words, exit, counters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import open_store
from tests.ui.conftest import run_driver

pytestmark = pytest.mark.ui


@pytest.mark.all_dates
def test_scan_flow_with_touches_and_wedge(kivy_env: dict[str, str], tmp_path: Path, frozen_now: datetime) -> None:
    seen = run_driver(kivy_env, "door", tmp_path, "--now", frozen_now.isoformat())
    code = seen["code"]
    assert seen["lang"] == "fr" and "Présentez le code du billet à la caméra" in seen["start_texts"]
    assert seen["keypad_open"] and seen["typed"] == code
    first = seen["first"]
    assert (first["kind"], first["shape"], first["sound"]) == ("ok", "circle_check", "ok")
    assert first["title"] == "Bienvenue" and first["tariff"]  # the tariff's name is shown
    assert "Bienvenue" in first["texts"]
    assert seen["cleared_by_itself"]
    second = seen["second"]
    assert (second["kind"], second["shape"], second["sound"]) == ("warn", "triangle_bang", "warn")
    assert second["title"] == "Déjà utilisé"
    # when (relative, on the app's clock) and which door, by name: no raw device or gate id (issue 12)
    assert "il y a" in second["detail"] and "à cette porte" in second["detail"]
    assert "demo-kiosk-1" not in second["detail"]
    assert seen["dismissed_by_tap"]
    third = seen["third"]
    assert (third["kind"], third["shape"], third["sound"]) == ("stop", "octagon_cross", "stop")
    assert third["title"] == "Billet inconnu" and "billetterie" in third["detail"]
    assert seen["allow_exit"] and seen["direction"] == "exit"
    assert seen["exit"]["title"] == "Sortie enregistrée" and seen["exit"]["shape"] == "arrow_out"
    assert seen["counters"] == [1, 0]
    assert seen["badge"].startswith("Hors ligne")
    assert seen["lang_after_tap"] == "de" and seen["hint_after_tap"] == "Halten Sie den Ticketcode vor die Kamera"

    store = open_store(tmp_path / "demo.sqlite")
    with store.read() as conn:
        moves = [r.movement for r in conn.execute(select(t.checkins).order_by(t.checkins.c.scanned_at))]
        failed = [r.verdict for r in conn.execute(select(t.failed_scans).order_by(t.failed_scans.c.scanned_at))]
        kinds = [r.kind for r in conn.execute(select(t.outbox).order_by(t.outbox.c.seq))]
    store.close()
    assert moves == ["entry", "exit"]
    assert failed == ["already_used", "unknown"]
    assert kinds == ["checkin", "failed_scan", "failed_scan", "checkin"]


def test_door_only_device_has_no_sales(kivy_env: dict[str, str], tmp_path: Path) -> None:
    seen = run_driver(kivy_env, "door_only", tmp_path)
    assert "sales" not in seen["screens"]
    assert seen["sales_button"] == [True, 0]
    assert seen["current_after_tap"] == "door"


def test_camera_preview_and_scans_from_the_simulated_camera(kivy_env: dict[str, str], tmp_path: Path) -> None:
    """The demo camera plays a generated video of a valid ticket then an unknown code: both get verdicts."""
    seen = run_driver(kivy_env, "camera", tmp_path)
    assert seen["first"]["title"] == "Bienvenue"
    assert seen["frames_shown"] > 0  # the preview shows camera frames (the rate is measured in bench/bench_ui.py)
    assert seen["second"]["title"] == "Billet inconnu"
    assert seen["wrong_pin"][0] is False and seen["wrong_pin"][1] == "PIN erroné."
    assert "Images" in seen["tech"]["camera"] and "dernier lu" in seen["tech"]["camera"]
    assert seen["tech"]["printer"] == "Aucune imprimante n'est configurée sur ce kiosque."
    assert seen["tech"]["sync"].startswith("Hors ligne")
    store = open_store(tmp_path / "demo.sqlite")
    with store.read() as conn:
        assert [r.movement for r in conn.execute(select(t.checkins))] == ["entry"]
        failed = [r.verdict for r in conn.execute(select(t.failed_scans).order_by(t.failed_scans.c.scanned_at))]
    # the video loops: a code seen again later is a new scan (the valid one then reads already_used)
    assert failed[0] == "unknown" and set(failed) <= {"unknown", "already_used"}
    store.close()
