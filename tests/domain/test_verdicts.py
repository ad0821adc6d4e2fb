"""Table-driven tests of every verdict code and of the rule order, on hand-built facts (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
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
from kiosk.domain.verdicts import (
    GateContext,
    TicketFacts,
    VerdictCode,
    decide,
    refuse_signature,
    refuse_unknown,
    refuse_unreadable,
)

NOW = datetime(2026, 11, 28, 18, 30, tzinfo=UTC)  # 19:30 in Zurich
H = timedelta(hours=1)
DAY = timedelta(days=1)

EVENT, OTHER_EVENT = 1, 2
TODAY = Performance(10, EVENT, starts_at=NOW + H, doors_open=NOW - H)
TOMORROW = Performance(11, EVENT, starts_at=NOW + DAY, doors_open=NOW + DAY - 2 * H)
YESTERDAY = Performance(12, EVENT, starts_at=NOW - DAY, doors_open=NOW - DAY - 2 * H)
LATER_TODAY = Performance(13, EVENT, starts_at=NOW + 4 * H, doors_open=NOW + 3 * H)
OTHER = Performance(20, OTHER_EVENT, starts_at=NOW + H, doors_open=NOW - H)
FULL, REDUCED, VIP, SEASON = 100, 101, 102, 200
TARIFFS = {
    FULL: Tariff(FULL, EVENT, {"en": "Full price"}, Decimal("40")),
    REDUCED: Tariff(REDUCED, EVENT, {"en": "Reduced", "de": "Ermässigt"}, Decimal("25"), icon="reduced"),
    VIP: Tariff(VIP, EVENT, {"en": "VIP"}, Decimal("90"), icon="vip"),
    SEASON: Tariff(SEASON, None, {"en": "Season pass"}, Decimal("200"), TariffKind.PASS),
}
PASS = PassRule(
    1, SEASON, {"en": "Season"}, NOW - 30 * DAY, NOW + 30 * DAY, entries_per_day=2, event_ids=frozenset({1})
)
MAIN = CheckinList(
    1, "main", frozenset({EVENT}), frozenset({FULL, REDUCED, SEASON}), allow_exit=True, allow_reentry=True
)
STRICT = CheckinList(2, "strict", frozenset({EVENT}), allow_exit=False, allow_reentry=False)
EXIT_NO_REENTRY = CheckinList(3, "exit only", frozenset({EVENT}), allow_exit=True, allow_reentry=False)
PERFS = (TODAY, TOMORROW, YESTERDAY, LATER_TODAY)


def ticket(**kw: object) -> TicketRecord:
    base = TicketRecord(ticket_id=7, event_id=EVENT, tariff_id=FULL, performance_id=TODAY.id, holder_name="Ana")
    return replace(base, **kw)  # type: ignore[arg-type]


def moved(movement: Movement, minutes_ago: int, perf: int = TODAY.id, device: str = "door-2") -> CheckinRecord:
    return CheckinRecord(
        f"s{minutes_ago}{movement}", 7, movement, NOW - timedelta(minutes=minutes_ago), device, "east", perf
    )


def ctx(
    lst: CheckinList = MAIN, direction: Direction = Direction.ENTRY, perfs: tuple[Performance, ...] = PERFS
) -> GateContext:
    return GateContext("door-1", "main", lst, perfs, direction)


def facts(tk: TicketRecord | None = None, **kw: object) -> TicketFacts:
    tk = tk or ticket()
    return TicketFacts(
        ticket=tk,
        tariff=TARIFFS.get(tk.tariff_id),
        event=Event(tk.event_id, {"en": "Show"}),
        **kw,  # type: ignore[arg-type]
    )


SEASON_TICKET = ticket(tariff_id=SEASON, performance_id=None, pass_id=1)

CASES = [
    # (name, facts, context, expected code, expected detail)
    ("valid first entry", facts(), ctx(), VerdictCode.VALID, ""),
    ("already used", facts(history=(moved(Movement.ENTRY, 5),)), ctx(), VerdictCode.ALREADY_USED, ""),
    (
        "revoked beats everything",
        facts(revoked=True, history=(moved(Movement.ENTRY, 5),)),
        ctx(),
        VerdictCode.REVOKED,
        "",
    ),
    ("cancelled", facts(ticket(status=TicketStatus.CANCELLED)), ctx(), VerdictCode.CANCELLED, ""),
    ("wrong event", facts(ticket(event_id=OTHER_EVENT, performance_id=OTHER.id)), ctx(), VerdictCode.WRONG_EVENT, ""),
    (
        "tomorrow's ticket",
        facts(ticket(performance_id=TOMORROW.id)),
        ctx(),
        VerdictCode.WRONG_PERFORMANCE,
        "other_date",
    ),
    ("yesterday's ticket", facts(ticket(performance_id=YESTERDAY.id)), ctx(), VerdictCode.EXPIRED, "admission_closed"),
    (
        "later today, nothing open yet",
        facts(ticket(performance_id=LATER_TODAY.id)),
        ctx(perfs=(LATER_TODAY,)),
        VerdictCode.NOT_YET_VALID,
        "doors_not_open",
    ),
    (
        "performance unknown to list",
        facts(ticket(performance_id=999)),
        ctx(),
        VerdictCode.WRONG_PERFORMANCE,
        "performance_not_on_list",
    ),
    ("tariff not on list", facts(ticket(tariff_id=VIP)), ctx(), VerdictCode.NOT_ON_THIS_LIST, "tariff"),
    (
        "performance not on list",
        facts(),
        ctx(lst=replace(STRICT, performance_ids=frozenset({TOMORROW.id}))),
        VerdictCode.NOT_ON_THIS_LIST,
        "performance",
    ),
    (
        "dated ticket before validity",
        facts(ticket(valid_from=NOW + H, valid_until=NOW + DAY)),
        ctx(),
        VerdictCode.NOT_YET_VALID,
        "before_validity",
    ),
    (
        "dated ticket after validity",
        facts(ticket(valid_from=NOW - DAY, valid_until=NOW - H)),
        ctx(),
        VerdictCode.EXPIRED,
        "after_validity",
    ),
    (
        "exit recorded",
        facts(history=(moved(Movement.ENTRY, 30),)),
        ctx(direction=Direction.EXIT),
        VerdictCode.EXIT_RECORDED,
        "",
    ),
    ("exit when not inside", facts(), ctx(direction=Direction.EXIT), VerdictCode.NOT_INSIDE, ""),
    (
        "exit on a list without exits",
        facts(history=(moved(Movement.ENTRY, 30),)),
        ctx(lst=STRICT, direction=Direction.EXIT),
        VerdictCode.NOT_ON_THIS_LIST,
        "exit_not_allowed",
    ),
    (
        "re-entry after exit",
        facts(history=(moved(Movement.ENTRY, 30), moved(Movement.EXIT, 10))),
        ctx(),
        VerdictCode.VALID,
        "reentry",
    ),
    (
        "no re-entry where the list forbids it",
        facts(history=(moved(Movement.ENTRY, 30), moved(Movement.EXIT, 10))),
        ctx(lst=EXIT_NO_REENTRY),
        VerdictCode.ALREADY_USED,
        "",
    ),
    (
        "re-entry needs an exit first",
        facts(history=(moved(Movement.ENTRY, 30), moved(Movement.EXIT, 20), moved(Movement.REENTRY, 10))),
        ctx(),
        VerdictCode.ALREADY_USED,
        "",
    ),
    (
        "two entries allowed, one used",
        facts(ticket(entries_allowed=2), history=(moved(Movement.ENTRY, 5),)),
        ctx(),
        VerdictCode.VALID,
        "",
    ),
    (
        "history of another performance does not count",
        facts(history=(moved(Movement.ENTRY, 60 * 24, YESTERDAY.id),)),
        ctx(),
        VerdictCode.VALID,
        "",
    ),
    ("season pass", facts(SEASON_TICKET, pass_rule=PASS), ctx(), VerdictCode.VALID, ""),
    (
        "season pass daily limit",
        facts(SEASON_TICKET, pass_rule=PASS, history=(moved(Movement.ENTRY, 200, 99), moved(Movement.ENTRY, 100, 98))),
        ctx(),
        VerdictCode.ALREADY_USED,
        "daily_limit",
    ),
    (
        "season pass, entries of another day do not count",
        facts(
            SEASON_TICKET,
            pass_rule=PASS,
            history=(moved(Movement.ENTRY, 60 * 24, 99), moved(Movement.ENTRY, 60 * 25, 98)),
        ),
        ctx(),
        VerdictCode.VALID,
        "",
    ),
    (
        "pass before its window",
        facts(SEASON_TICKET, pass_rule=replace(PASS, valid_from=NOW + DAY)),
        ctx(),
        VerdictCode.NOT_YET_VALID,
        "before_validity",
    ),
    (
        "pass after its window",
        facts(SEASON_TICKET, pass_rule=replace(PASS, valid_until=NOW - H)),
        ctx(),
        VerdictCode.EXPIRED,
        "after_validity",
    ),
    (
        "pass for another event",
        facts(SEASON_TICKET, pass_rule=replace(PASS, event_ids=frozenset({OTHER_EVENT}))),
        ctx(),
        VerdictCode.WRONG_EVENT,
        "",
    ),
    (
        "pass with no open performance yet",
        facts(SEASON_TICKET, pass_rule=PASS),
        ctx(perfs=(LATER_TODAY, YESTERDAY)),
        VerdictCode.NOT_YET_VALID,
        "doors_not_open",
    ),
    (
        "pass after the last performance",
        facts(SEASON_TICKET, pass_rule=PASS),
        ctx(perfs=(YESTERDAY,)),
        VerdictCode.EXPIRED,
        "no_open_performance",
    ),
]


@pytest.mark.parametrize(("name", "f", "c", "code", "detail"), CASES, ids=[c[0] for c in CASES])
def test_verdict(name: str, f: TicketFacts, c: GateContext, code: VerdictCode, detail: str) -> None:
    verdict = decide(f, c, NOW)
    assert (verdict.code, verdict.detail) == (code, detail)


def test_already_used_reports_first_entry_device_and_gate() -> None:
    first = moved(Movement.ENTRY, 50, device="door-7")
    verdict = decide(facts(history=(moved(Movement.ENTRY, 5), first)), ctx(), NOW)
    assert verdict.code is VerdictCode.ALREADY_USED
    assert verdict.first_use == first
    assert (verdict.first_use.device_id, verdict.first_use.gate) == ("door-7", "east")


def test_valid_verdict_carries_display_facts_and_movement() -> None:
    verdict = decide(facts(ticket(tariff_id=REDUCED)), ctx(), NOW)
    assert verdict.admitted and verdict.movement is Movement.ENTRY
    assert verdict.display is not None
    assert verdict.display.tariff_name["de"] == "Ermässigt"
    assert verdict.display.tariff_icon == "reduced"
    assert verdict.display.holder_name == "Ana"
    assert verdict.performance_id == TODAY.id


def test_doors_window_edges() -> None:
    f = facts()
    assert decide(f, ctx(), TODAY.doors_open).code is VerdictCode.VALID
    assert decide(f, ctx(perfs=(TODAY,)), TODAY.doors_open - timedelta(seconds=1)).code is VerdictCode.NOT_YET_VALID
    assert decide(f, ctx(), TODAY.closes).code is VerdictCode.VALID
    assert decide(f, ctx(), TODAY.closes + timedelta(seconds=1)).code is VerdictCode.EXPIRED


def test_venue_day_is_zurich_not_utc() -> None:
    # 23:30 UTC on the 28th is 00:30 on the 29th in Zurich: yesterday evening's entries no longer count.
    late = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    perf = Performance(50, EVENT, starts_at=late - H, doors_open=late - 2 * H)
    evening = CheckinRecord("a", 7, Movement.ENTRY, datetime(2026, 11, 28, 22, 0, tzinfo=UTC), "d", "g", 49)
    evening2 = replace(evening, scan_id="b", at=datetime(2026, 11, 28, 22, 10, tzinfo=UTC), performance_id=48)
    f = facts(SEASON_TICKET, pass_rule=PASS, history=(evening, evening2))
    assert decide(f, ctx(perfs=(perf,)), late).code is VerdictCode.VALID
    # ... whereas at 22:50 UTC (23:50 Zurich) the same two entries exhaust the daily limit.
    assert decide(f, ctx(perfs=(perf,)), late - timedelta(minutes=40)).code is VerdictCode.ALREADY_USED


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
