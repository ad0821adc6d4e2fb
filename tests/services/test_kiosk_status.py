"""Door counters and sync status on a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from kiosk.compose_services import kiosk_status, scanning_service
from kiosk.domain.model import Direction
from kiosk.domain.timeutil import venue_day
from kiosk.services.kiosk_status import DoorCounters

pytestmark = pytest.mark.all_dates  # "today" at the door is the venue's day at each fixed instant


def expected_counters(moves: list[tuple[str, str, datetime]], now: datetime) -> tuple[int, int]:
    """(admitted today, inside now) as the door defines them: movements of the venue day of `now` only, so one
    minute after midnight yesterday's admissions no longer count (and nobody is counted inside)."""
    today = [(code, kind) for code, kind, at in moves if venue_day(at) == venue_day(now)]
    last = dict(today)
    return sum(kind != "exit" for _, kind in today), sum(kind != "exit" for kind in last.values())


def test_counters_admitted_today_and_inside_now(demo_venue, demo_now) -> None:
    store, venue = demo_venue
    clock = [demo_now]
    scanner = scanning_service(store, "door-1", clock=lambda: clock[0], debounce=timedelta(0))
    valid = [c for c, v in venue.expected if v == "valid"][:3]
    moves = [(code, "entry", demo_now) for code in valid]
    for code in valid:
        assert scanner.scan(code, "main").verdict.code.value == "valid"
    clock[0] += timedelta(minutes=5)
    assert scanner.scan(valid[0], "main", Direction.EXIT).verdict.code.value == "exit_recorded"
    moves.append((valid[0], "exit", clock[0]))
    scanner.scan("JUNK-CODE", "main")  # a refusal changes no counter
    status = kiosk_status(store)
    counters = status.door_counters(clock[0])
    assert (counters.admitted_today, counters.inside_now) == expected_counters(moves, clock[0])
    clock[0] += timedelta(minutes=5)
    assert scanner.scan(valid[0], "main").verdict.detail == "reentry"
    moves.append((valid[0], "reentry", clock[0]))
    counters = status.door_counters(clock[0])
    assert (counters.admitted_today, counters.inside_now) == expected_counters(moves, clock[0])
    if venue_day(clock[0]) == venue_day(demo_now):
        assert (counters.admitted_today, counters.inside_now) == (4, 3)
    tomorrow = clock[0] + timedelta(days=1)
    assert expected_counters(moves, tomorrow) == (0, 0)
    assert status.door_counters(tomorrow) == DoorCounters(0, 0)


def test_sync_view_before_and_after_the_agent_wrote_its_row(demo_venue, demo_now) -> None:
    store, venue = demo_venue
    scanning_service(store, "door-1", clock=lambda: demo_now).scan(venue.expected[0][0], "main")
    status = kiosk_status(store)
    before = status.sync()
    assert (before.online, before.pending, before.data_at) == (False, 1, None)
    assert before.stale(demo_now) and before.catalog_version == venue.catalog.version
    from kiosk.adapters.store.sync_tables import sync_status

    with store.write() as conn:
        conn.execute(
            insert(sync_status).values(
                id=1,
                online=True,
                pending=0,
                dead_letters=2,
                data_at=demo_now - timedelta(minutes=3),
                catalog_version="v9",
                updated_at=demo_now,
            )
        )
    after = status.sync()
    assert (after.online, after.pending, after.dead_letters, after.catalog_version) == (True, 1, 2, "v9")
    assert after.data_age(demo_now) == timedelta(minutes=3) and not after.stale(demo_now)


def test_catalog_is_cached_by_version(demo_venue) -> None:
    store, _ = demo_venue
    status = kiosk_status(store)
    assert status.catalog() is status.catalog()
