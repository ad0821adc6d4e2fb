"""The technician's sync notes, read through the status path from a real store (what the sync agent writes)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from firmware_config.wipe_request import WipeRequest, record_wipe_request
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import open_store
from kiosk.compose_services import kiosk_status
from kiosk.ui import i18n
from kiosk.ui.technician_presenters import rejection_text, sync_notes

TR = i18n.Translator()


def test_a_pending_wipe_and_the_newest_refusal_come_from_the_store(tmp_path: Path, demo_now: datetime) -> None:
    store = open_store(tmp_path / "kiosk.sqlite", create=True)
    status = kiosk_status(store)
    try:
        before = status.sync()
        assert not before.wipe_requested and before.last_rejection == ""
        assert sync_notes(before, TR.tr, "en") == []
        with store.write() as conn:
            record_wipe_request(conn, WipeRequest("c1", "door-1", "nonce-0001", "2026-11-28T18:00:00Z", "-"))
            for i, reason in enumerate(("too_large", "out_of_scope", "malformed:payment")):
                conn.execute(
                    insert(t.dead_letters).values(
                        event_id=f"e{i}", seq=i, kind="sale", payload="{}", reason=reason,
                        rejected_at=demo_now + timedelta(seconds=[0, 20, 10][i]),
                    )
                )  # fmt: skip
        after = status.sync()
    finally:
        store.close()
    assert after.wipe_requested and after.dead_letters == 3 and after.last_rejection == "out_of_scope"
    assert sync_notes(after, TR.tr, "it") == [
        "La centrale ha chiesto di cancellare questo dispositivo — confermate con kiosk-provision wipe sul dispositivo",
        "ultimo rifiuto: il ruolo di questo dispositivo non può registrarlo (out_of_scope)",
    ]


def test_an_unknown_reason_is_shown_as_central_gave_it() -> None:
    assert rejection_text("schema", TR.tr, "en") == "last refused: schema"
    shown = rejection_text("malformed:payment", TR.tr, "de")
    assert shown == "zuletzt abgelehnt: fehlerhaftes Ereignis (malformed:payment)"
