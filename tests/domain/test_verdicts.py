"""Table-driven tests of every verdict code and of the rule order, on hand-built facts (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from kiosk.domain.model import (
    CheckinList,
    CheckinRecord,
    Direction,
    Event,
    Movement,
    PassRule,
    Performance,
    Tariff,
    TariffKind,
    TicketRecord,
    TicketStatus,
)
from kiosk.domain.timeutil import VENUE_TZ
from kiosk.domain.verdicts import (
    GateContext,
    TicketFacts,
    VerdictCode,
    decide,
    refuse_signature,
    refuse_unknown,
    refuse_unreadable,
)

H = timedelta(hours=1)
DAY = timedelta(days=1)

EVENT, OTHER_EVENT = 1, 2
TODAY_ID, TOMORROW_ID, YESTERDAY_ID, LATER_TODAY_ID, OTHER_ID = 10, 11, 12, 13, 20
FULL, REDUCED, VIP, SEASON = 100, 101, 102, 200
TARIFFS = {
    FULL: Tariff(FULL, EVENT, {"en": "Full price"}, Decimal("40")),
    REDUCED: Tariff(REDUCED, EVENT, {"en": "Reduced", "de": "Ermässigt"}, Decimal("25"), icon="reduced"),
    VIP: Tariff(VIP, EVENT, {"en": "VIP"}, Decimal("90"), icon="vip"),
    SEASON: Tariff(SEASON, None, {"en": "Season pass"}, Decimal("200"), TariffKind.PASS),
}
MAIN = CheckinList(
    1, "main", frozenset({EVENT}), frozenset({FULL, REDUCED, SEASON}), allow_exit=True, allow_reentry=True
)
STRICT = CheckinList(2, "strict", frozenset({EVENT}), allow_exit=False, allow_reentry=False)
EXIT_NO_REENTRY = CheckinList(3, "exit only", frozenset({EVENT}), allow_exit=True, allow_reentry=False)


def ticket(**kw: object) -> TicketRecord:
    base = TicketRecord(ticket_id=7, event_id=EVENT, tariff_id=FULL, performance_id=TODAY_ID, holder_name="Ana")
    return replace(base, **kw)  # type: ignore[arg-type]


def facts(tk: TicketRecord | None = None, **kw: object) -> TicketFacts:
    tk = tk or ticket()
    return TicketFacts(
        ticket=tk,
        tariff=TARIFFS.get(tk.tariff_id),
        event=Event(tk.event_id, {"en": "Show"}),
        **kw,  # type: ignore[arg-type]
    )


SEASON_TICKET = ticket(tariff_id=SEASON, performance_id=None, pass_id=1)


class World:
    """The performances, pass and history of the cases, placed around `now` (one of the fixed instants)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.today = Performance(TODAY_ID, EVENT, starts_at=now + H, doors_open=now - H)
        self.tomorrow = Performance(TOMORROW_ID, EVENT, starts_at=now + DAY, doors_open=now + DAY - 2 * H)
        self.yesterday = Performance(YESTERDAY_ID, EVENT, starts_at=now - DAY, doors_open=now - DAY - 2 * H)
        self.later_today = Performance(LATER_TODAY_ID, EVENT, starts_at=now + 4 * H, doors_open=now + 3 * H)
        self.other = Performance(OTHER_ID, OTHER_EVENT, starts_at=now + H, doors_open=now - H)
        self.perfs = (self.today, self.tomorrow, self.yesterday, self.later_today)
        self.season = PassRule(
            1, SEASON, {"en": "Season"}, now - 30 * DAY, now + 30 * DAY, entries_per_day=2, event_ids=frozenset({1})
        )
        local = now.astimezone(VENUE_TZ)
        # the venue day's first instant: a DST day is 23 or 25 hours long, so "24 hours ago" would not do
        self.midnight = datetime.combine(local.date(), time(0), VENUE_TZ).astimezone(UTC)

    def moved(
        self, movement: Movement, minutes_ago: float, perf: int = TODAY_ID, device: str = "door-2"
    ) -> CheckinRecord:
        return self.moved_at(movement, self.now - timedelta(minutes=minutes_ago), perf, device)

    def moved_at(self, movement: Movement, at: datetime, perf: int = TODAY_ID, device: str = "door-2") -> CheckinRecord:
        return CheckinRecord(f"s{at.timestamp()}{movement}", 7, movement, at, device, "east", perf)

    def earlier_today(self, share: float) -> datetime:
        """An instant between the venue's midnight and now (share 0 → midnight, 1 → now)."""
        return self.midnight + (self.now - self.midnight) * share

    def ctx(
        self,
        lst: CheckinList = MAIN,
        direction: Direction = Direction.ENTRY,
        perfs: tuple[Performance, ...] | None = None,
    ) -> GateContext:
        return GateContext("door-1", "main", lst, self.perfs if perfs is None else perfs, direction)


Case = tuple[str, TicketFacts, GateContext, VerdictCode, str]


def cases(w: World) -> list[Case]:
    """(name, facts, context, expected code, expected detail), all relative to `w.now`."""
    return [
        ("valid first entry", facts(), w.ctx(), VerdictCode.VALID, ""),
        ("already used", facts(history=(w.moved(Movement.ENTRY, 5),)), w.ctx(), VerdictCode.ALREADY_USED, ""),
        (
            "revoked beats everything",
            facts(revoked=True, history=(w.moved(Movement.ENTRY, 5),)),
            w.ctx(),
            VerdictCode.REVOKED,
            "",
        ),
        ("cancelled", facts(ticket(status=TicketStatus.CANCELLED)), w.ctx(), VerdictCode.CANCELLED, ""),
        (
            "wrong event",
            facts(ticket(event_id=OTHER_EVENT, performance_id=OTHER_ID)),
            w.ctx(),
            VerdictCode.WRONG_EVENT,
            "",
        ),
        (
            "tomorrow's ticket",
            facts(ticket(performance_id=TOMORROW_ID)),
            w.ctx(),
            VerdictCode.WRONG_PERFORMANCE,
            "other_date",
        ),
        (
            "yesterday's ticket",
            facts(ticket(performance_id=YESTERDAY_ID)),
            w.ctx(),
            VerdictCode.EXPIRED,
            "admission_closed",
        ),
        (
            "later today, nothing open yet",
            facts(ticket(performance_id=LATER_TODAY_ID)),
            w.ctx(perfs=(w.later_today,)),
            VerdictCode.NOT_YET_VALID,
            "doors_not_open",
        ),
        (
            "performance unknown to list",
            facts(ticket(performance_id=999)),
            w.ctx(),
            VerdictCode.WRONG_PERFORMANCE,
            "performance_not_on_list",
        ),
        ("tariff not on list", facts(ticket(tariff_id=VIP)), w.ctx(), VerdictCode.NOT_ON_THIS_LIST, "tariff"),
        (
            "performance not on list",
            facts(),
            w.ctx(lst=replace(STRICT, performance_ids=frozenset({TOMORROW_ID}))),
            VerdictCode.NOT_ON_THIS_LIST,
            "performance",
        ),
        (
            "dated ticket before validity",
            facts(ticket(valid_from=w.now + H, valid_until=w.now + DAY)),
            w.ctx(),
            VerdictCode.NOT_YET_VALID,
            "before_validity",
        ),
        (
            "dated ticket after validity",
            facts(ticket(valid_from=w.now - DAY, valid_until=w.now - H)),
            w.ctx(),
            VerdictCode.EXPIRED,
            "after_validity",
        ),
        (
            "exit recorded",
            facts(history=(w.moved(Movement.ENTRY, 30),)),
            w.ctx(direction=Direction.EXIT),
            VerdictCode.EXIT_RECORDED,
            "",
        ),
        ("exit when not inside", facts(), w.ctx(direction=Direction.EXIT), VerdictCode.NOT_INSIDE, ""),
        (
            "exit on a list without exits",
            facts(history=(w.moved(Movement.ENTRY, 30),)),
            w.ctx(lst=STRICT, direction=Direction.EXIT),
            VerdictCode.NOT_ON_THIS_LIST,
            "exit_not_allowed",
        ),
        (
            "re-entry after exit",
            facts(history=(w.moved(Movement.ENTRY, 30), w.moved(Movement.EXIT, 10))),
            w.ctx(),
            VerdictCode.VALID,
            "reentry",
        ),
        (
            "no re-entry where the list forbids it",
            facts(history=(w.moved(Movement.ENTRY, 30), w.moved(Movement.EXIT, 10))),
            w.ctx(lst=EXIT_NO_REENTRY),
            VerdictCode.ALREADY_USED,
            "",
        ),
        (
            "re-entry needs an exit first",
            facts(history=(w.moved(Movement.ENTRY, 30), w.moved(Movement.EXIT, 20), w.moved(Movement.REENTRY, 10))),
            w.ctx(),
            VerdictCode.ALREADY_USED,
            "",
        ),
        (
            "two entries allowed, one used",
            facts(ticket(entries_allowed=2), history=(w.moved(Movement.ENTRY, 5),)),
            w.ctx(),
            VerdictCode.VALID,
            "",
        ),
        (
            "history of another performance does not count",
            facts(history=(w.moved(Movement.ENTRY, 60 * 24, YESTERDAY_ID),)),
            w.ctx(),
            VerdictCode.VALID,
            "",
        ),
        ("season pass", facts(SEASON_TICKET, pass_rule=w.season), w.ctx(), VerdictCode.VALID, ""),
        (
            "season pass daily limit",
            facts(
                SEASON_TICKET,
                pass_rule=w.season,
                # two entries earlier on the venue's day (at 01:45, "200 minutes ago" would be yesterday)
                history=(
                    w.moved_at(Movement.ENTRY, w.earlier_today(1 / 3), 99),
                    w.moved_at(Movement.ENTRY, w.earlier_today(2 / 3), 98),
                ),
            ),
            w.ctx(),
            VerdictCode.ALREADY_USED,
            "daily_limit",
        ),
        (
            "season pass, entries of another day do not count",
            facts(
                SEASON_TICKET,
                pass_rule=w.season,
                # just before the venue's midnight (on a 25-hour day, "24 hours ago" can still be today)
                history=(
                    w.moved_at(Movement.ENTRY, w.midnight - timedelta(minutes=1), 99),
                    w.moved_at(Movement.ENTRY, w.midnight - timedelta(minutes=2), 98),
                ),
            ),
            w.ctx(),
            VerdictCode.VALID,
            "",
        ),
        (
            "pass before its window",
            facts(SEASON_TICKET, pass_rule=replace(w.season, valid_from=w.now + DAY)),
            w.ctx(),
            VerdictCode.NOT_YET_VALID,
            "before_validity",
        ),
        (
            "pass after its window",
            facts(SEASON_TICKET, pass_rule=replace(w.season, valid_until=w.now - H)),
            w.ctx(),
            VerdictCode.EXPIRED,
            "after_validity",
        ),
        (
            "pass for another event",
            facts(SEASON_TICKET, pass_rule=replace(w.season, event_ids=frozenset({OTHER_EVENT}))),
            w.ctx(),
            VerdictCode.WRONG_EVENT,
            "",
        ),
        (
            "pass with no open performance yet",
            facts(SEASON_TICKET, pass_rule=w.season),
            w.ctx(perfs=(w.later_today, w.yesterday)),
            VerdictCode.NOT_YET_VALID,
            "doors_not_open",
        ),
        (
            "pass after the last performance",
            facts(SEASON_TICKET, pass_rule=w.season),
            w.ctx(perfs=(w.yesterday,)),
            VerdictCode.EXPIRED,
            "no_open_performance",
        ),
    ]


CASE_NAMES = [c[0] for c in cases(World(datetime(2026, 11, 28, 18, 30, tzinfo=UTC)))]


@pytest.mark.all_dates
@pytest.mark.parametrize("name", CASE_NAMES)
def test_verdict(name: str, frozen_now: datetime) -> None:
    _, f, c, code, detail = next(case for case in cases(World(frozen_now)) if case[0] == name)
    verdict = decide(f, c, frozen_now)
    assert (verdict.code, verdict.detail) == (code, detail)


@pytest.mark.all_dates
def test_already_used_reports_first_entry_device_and_gate(frozen_now: datetime) -> None:
    w = World(frozen_now)
    first = w.moved(Movement.ENTRY, 50, device="door-7")
    verdict = decide(facts(history=(w.moved(Movement.ENTRY, 5), first)), w.ctx(), frozen_now)
    assert verdict.code is VerdictCode.ALREADY_USED
    assert verdict.first_use == first
    assert (verdict.first_use.device_id, verdict.first_use.gate) == ("door-7", "east")


@pytest.mark.all_dates
def test_valid_verdict_carries_display_facts_and_movement(frozen_now: datetime) -> None:
    w = World(frozen_now)
    verdict = decide(facts(ticket(tariff_id=REDUCED)), w.ctx(), frozen_now)
    assert verdict.admitted and verdict.movement is Movement.ENTRY
    assert verdict.display is not None
    assert verdict.display.tariff_name["de"] == "Ermässigt"
    assert verdict.display.tariff_icon == "reduced"
    assert verdict.display.holder_name == "Ana"
    assert verdict.performance_id == TODAY_ID


@pytest.mark.all_dates
def test_doors_window_edges(frozen_now: datetime) -> None:
    w = World(frozen_now)
    f = facts()
    assert decide(f, w.ctx(), w.today.doors_open).code is VerdictCode.VALID
    assert (
        decide(f, w.ctx(perfs=(w.today,)), w.today.doors_open - timedelta(seconds=1)).code is VerdictCode.NOT_YET_VALID
    )
    assert decide(f, w.ctx(), w.today.closes).code is VerdictCode.VALID
    assert decide(f, w.ctx(), w.today.closes + timedelta(seconds=1)).code is VerdictCode.EXPIRED


def test_venue_day_is_zurich_not_utc() -> None:
    # 23:30 UTC on the 28th is 00:30 on the 29th in Zurich: yesterday evening's entries no longer count.
    late = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    perf = Performance(50, EVENT, starts_at=late - H, doors_open=late - 2 * H)
    evening = CheckinRecord("a", 7, Movement.ENTRY, datetime(2026, 11, 28, 22, 0, tzinfo=UTC), "d", "g", 49)
    evening2 = replace(evening, scan_id="b", at=datetime(2026, 11, 28, 22, 10, tzinfo=UTC), performance_id=48)
    w = World(late)
    f = facts(SEASON_TICKET, pass_rule=w.season, history=(evening, evening2))
    assert decide(f, w.ctx(perfs=(perf,)), late).code is VerdictCode.VALID
    # ... whereas at 22:50 UTC (23:50 Zurich) the same two entries exhaust the daily limit.
    assert decide(f, w.ctx(perfs=(perf,)), late - timedelta(minutes=40)).code is VerdictCode.ALREADY_USED


def test_refusals_for_unidentified_scans() -> None:
    assert refuse_unreadable().code is VerdictCode.UNKNOWN
    assert refuse_unknown().code is VerdictCode.UNKNOWN
    assert refuse_signature("bad_signature").code is VerdictCode.INVALID_SIGNATURE
    assert not refuse_unknown().records_movement


def test_every_code_is_snake_case_and_stable() -> None:
    assert {c.value for c in VerdictCode} >= {
        "valid", "already_used", "unknown", "invalid_signature", "wrong_event", "wrong_performance",
        "not_yet_valid", "expired", "revoked", "cancelled", "not_on_this_list", "exit_recorded",
    }  # fmt: skip
