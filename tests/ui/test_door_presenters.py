"""The door's pure presenters: the refusal hold and queue on an injected clock, first-use words, entries, camera."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kiosk.domain.catalog import Catalog
from kiosk.domain.model import CheckinList, CheckinRecord, Movement, TicketRecord
from kiosk.domain.verdicts import Verdict, VerdictCode
from kiosk.ui import door_presenters as dp
from kiosk.ui.i18n import Translator

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
TR = Translator().tr
CATALOG = Catalog("v1", lists={1: CheckinList(1, "Foyer", frozenset({1}))}, gates={"foyer": 1, "main": 2})


def test_a_refusal_holds_the_screen_until_the_hold_is_over_and_scans_meanwhile_wait_in_order() -> None:
    board: dp.VerdictBoard[str] = dp.VerdictBoard(hold_s=3.0)
    assert board.offer("used", "warn", now=10.0)
    assert not board.offer("next-guest", "ok", now=10.5)  # the green does not replace the refusal
    assert not board.offer("other", "stop", now=11.0)
    assert board.current == "used" and [item for item, _ in board.waiting] == ["next-guest", "other"]
    assert board.holds(12.9) and not board.holds(13.0)
    assert not board.offer("late", "ok", now=13.5)  # after the hold, still behind those already waiting
    assert board.release(now=13.5) == "next-guest"
    assert board.release(now=15.0) == "other"
    assert board.holds(15.5)  # the queued refusal holds again, from when it was shown
    assert board.release(now=18.0) == "late"
    assert board.release(now=19.0) is None and board.current is None


def test_greens_replace_each_other_and_a_tap_releases_a_refusal_at_once() -> None:
    board: dp.VerdictBoard[str] = dp.VerdictBoard(hold_s=3.0)
    assert board.offer("a", "ok", now=0.0)
    assert board.offer("b", "ok", now=0.2)  # a queue of admitted guests is never slowed down
    assert board.offer("c", "stop", now=0.4)
    assert not board.offer("d", "ok", now=0.5)
    assert board.release(now=0.6) == "d"  # staff tapped the refusal
    assert board.current_kind == "ok" and not board.waiting


def test_the_history_keeps_the_last_ten_newest_first() -> None:
    history: tuple[int, ...] = ()
    for i in range(13):
        history = dp.push_history(history, i)
    assert history == (12, 11, 10, 9, 8, 7, 6, 5, 4, 3)
    item = dp.HistoryItem("warn", "Déjà utilisé", "Plein tarif", NOW)
    assert dp.history_line(item, "fr") == "19:00 · Déjà utilisé · Plein tarif"


def _used(gate: str, minutes: float, detail: str = "") -> Verdict:
    first = CheckinRecord("s", 1, Movement.ENTRY, NOW - timedelta(minutes=minutes), "demo-kiosk-1", gate)
    return Verdict(VerdictCode.ALREADY_USED, detail, first_use=first)


def test_first_use_says_how_long_ago_and_which_door_by_name() -> None:
    assert (
        dp.first_use_text(_used("main", 2), "main", CATALOG, NOW, TR, "en") == "First used 2 minutes ago, at this door."
    )
    assert (
        dp.first_use_text(_used("foyer", 2), "main", CATALOG, NOW, TR, "en")
        == "First used 2 minutes ago, at door Foyer."
    )
    de = dp.first_use_text(_used("foyer", 2), "main", CATALOG, NOW, TR, "de")
    assert de is not None and "vor 2 Minuten" in de and "Foyer" in de
    fr = dp.first_use_text(_used("main", 0.5), "main", CATALOG, NOW, TR, "fr")
    assert fr is not None and "il y a 30 secondes" in fr
    old = dp.first_use_text(_used("unknown-gate", 60 * 30), "main", CATALOG, NOW, TR, "en")
    assert old is not None and "unknown-gate" in old and "ago" not in old  # a day and a time, the raw id as last resort
    assert dp.first_use_text(Verdict(VerdictCode.VALID), "main", CATALOG, NOW, TR, "en") is None


def test_multi_entry_tickets_show_entries_used_out_of_allowed() -> None:
    ticket = TicketRecord(1, 1, 1, entries_allowed=3)
    assert dp.entries_text(Verdict(VerdictCode.VALID, ticket=ticket, entries_used=2), TR, "en") == "Entries: 2/3"
    assert dp.entries_text(Verdict(VerdictCode.VALID, ticket=TicketRecord(1, 1, 1), entries_used=1), TR, "en") == ""


def test_the_camera_state_in_the_staffs_language() -> None:
    assert dp.camera_text(True, "", TR, "fr") == ""
    assert dp.camera_text(True, "starting", TR, "fr") == "Démarrage de la caméra…"
    assert dp.camera_text(True, "failed", TR, "de").startswith("Die Kamera funktioniert nicht")
    assert dp.camera_text(True, "stalled", TR, "it").startswith("La fotocamera non invia")
    assert dp.camera_text(False, "", TR, "en") == "No camera on this kiosk"
