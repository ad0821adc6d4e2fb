"""One injected clock: `kiosk` commands read time only from the clock `kiosk.cli.main` is given."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.cli import main as kiosk_main
from kiosk.demo import frame_synth as fs
from kiosk.demo.venue import DemoVenue
from kiosk.domain.clock import fixed_clock
from tests.scanner.conftest import signed_code


def test_kiosk_scan_stamps_check_ins_with_the_given_clock(
    tmp_path: Path, db_path: Path, demo_venue: tuple[Store, DemoVenue], demo_now: datetime
) -> None:
    store, venue = demo_venue
    code = signed_code(venue)
    video = fs.make_demo_video([code], tmp_path / "door.mp4", size=(640, 360), fps=10, hold_seconds=0.8)
    at = demo_now.replace(second=42, microsecond=123000)  # the venue's evening, not today
    assert kiosk_main(["scan", "--db", str(db_path), "--source", str(video)], clock=fixed_clock(at)) == 0
    with store.read() as conn:
        assert list(conn.execute(select(t.checkins.c.scanned_at)).scalars()) == [at]
