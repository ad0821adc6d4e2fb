"""The demo venue keeps its promise on any date: yesterday's, today's and tomorrow's performances fall on those
venue days (Europe/Zurich), today's doors are open now, even one minute before midnight or on a DST day."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from kiosk.demo import venue as dv
from kiosk.domain.timeutil import VENUE_TZ, venue_day

pytestmark = pytest.mark.all_dates


def end_of_venue_day(now: datetime) -> datetime:
    local = now.astimezone(VENUE_TZ)
    return datetime.combine(local.date(), time(23, 59), VENUE_TZ).astimezone(UTC)


def test_each_performance_is_on_the_day_its_name_says(frozen_now: datetime) -> None:
    perfs = dv.demo_catalog(frozen_now, []).performances
    today = venue_day(frozen_now)
    day = timedelta(days=1)
    assert venue_day(perfs[dv.PERF_YESTERDAY].starts_at) == today - day
    assert venue_day(perfs[dv.PERF_TODAY].starts_at) == today
    assert venue_day(perfs[dv.PERF_JAZZ].starts_at) == today
    assert venue_day(perfs[dv.PERF_TOMORROW].starts_at) == today + day


def test_todays_doors_are_open_now_and_the_others_are_not(frozen_now: datetime) -> None:
    perfs = dv.demo_catalog(frozen_now, []).performances
    # 30 minutes from now (to the minute), unless that is past the venue's midnight
    soon = min(frozen_now + timedelta(minutes=30), end_of_venue_day(frozen_now))
    assert perfs[dv.PERF_TODAY].starts_at == soon.replace(second=0, microsecond=0)
    assert perfs[dv.PERF_TODAY].is_open(frozen_now) and perfs[dv.PERF_JAZZ].is_open(frozen_now)
    assert perfs[dv.PERF_YESTERDAY].closes < frozen_now < perfs[dv.PERF_TOMORROW].doors_open
    # the festival's dates keep the same wall-clock time at the venue, across a DST switch too
    local = [perfs[p].starts_at.astimezone(VENUE_TZ) for p in (dv.PERF_YESTERDAY, dv.PERF_TODAY, dv.PERF_TOMORROW)]
    assert len({(t.hour, t.minute) for t in local}) == 1
