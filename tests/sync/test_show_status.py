"""`kiosk-sync --show-status` shows the outbox queue read from the store itself, so a technician sees what waits
even before the agent has written its first status row (a device that never reached the broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.adapters.store.sync_repository import dead_letter, mark_synced, read_status
from kiosk.domain.timeutil import iso
from sync_agent.cli import main
from tests.sync.conftest import open_device_store, queue_events

REJECTED_AT = datetime(2026, 11, 28, 18, 5, tzinfo=UTC)


def shown(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["--db", str(db), "--show-status"]) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_the_queue_shows_before_the_agent_ever_wrote_a_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "door.sqlite"
    store = open_device_store(db)
    try:
        ids = queue_events(store, 5, "door-a")
        with store.write() as conn:  # one of them was rejected by central (as the agent records a rejection)
            dead_letter(conn, {ids[0]: "device_mismatch"}, REJECTED_AT)
            mark_synced(conn, [ids[0]], REJECTED_AT)
        with store.read() as conn:
            assert read_status(conn) is None  # the agent never ran on this store
    finally:
        store.close()

    out = shown(db, capsys)
    assert out["status"] is None
    queue = out["queue"]
    assert isinstance(queue, dict)
    assert (queue["pending"], queue["dead_letters"]) == (4, 1)
    assert queue["oldest_pending_at"] == iso(datetime(2026, 11, 28, 18, 0, 0, 1000, tzinfo=UTC))
    assert isinstance(queue["oldest_pending_age_s"], float)
    assert "not written a status yet" in str(out["note"])
    assert out["dead_letters"] == [{"event_id": ids[0], "reason": "device_mismatch"}]


def test_an_empty_store_shows_an_empty_queue_not_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fresh.sqlite"
    open_device_store(db).close()
    out = shown(db, capsys)
    assert out["queue"] == {"pending": 0, "oldest_pending_at": None, "oldest_pending_age_s": None, "dead_letters": 0}


def test_a_missing_store_is_one_line_without_advising_demo_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(tmp_path / "absent.sqlite"), "--show-status"]) == 2
    err = capsys.readouterr().err
    assert "no database here" in err and "demo-data" not in err and "Traceback" not in err
