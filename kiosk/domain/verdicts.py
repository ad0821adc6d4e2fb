"""The door verdict engine: scanned code + local facts + now → a verdict with a stable code.

The codes are part of the protocol (they travel in outbox events) and never change meaning.

Rule order — the first rule that refuses decides:

1. Unreadable input (empty, binary, control characters, too long)           → ``unknown`` (detail ``unreadable``)
2. Looks like a signed code but is malformed, from an unknown or revoked key,
   or its signature does not verify                                          → ``invalid_signature``
3. Neither a signed code nor a code from the ticket list                     → ``unknown``
4. Ticket (or its code) is on the revocation list                            → ``revoked``
5. Ticket cancelled in the ticket list                                       → ``cancelled``
6. Ticket's event (for a pass: none of its events) is not served by this gate's list → ``wrong_event``
7. Validity window (passes, dated tickets): before it → ``not_yet_valid``; after it → ``expired``
8. Performance: the ticket's own performance must have its doors open now
   (doors_open ≤ now ≤ admission close). Its admission closed → ``expired``; another performance of the
   list is open now (e.g. the ticket is for tomorrow) → ``wrong_performance``; nothing open yet →
   ``not_yet_valid``. A pass takes the first open performance of an event it covers (none → ``not_yet_valid``).
9. The gate's list does not take this tariff or performance                 → ``not_on_this_list``
10. Exit scans: the list has no exits → ``not_on_this_list`` (``exit_not_allowed``); the ticket is not
    inside → ``not_inside``; otherwise → ``exit_recorded``.
11. Entry scans, counting movements for this performance: fewer entries than allowed → ``valid`` (entry),
    unless a pass's per-day limit (venue day, Europe/Zurich) is reached → ``already_used`` (``daily_limit``);
    last movement an exit and the list allows re-entry → ``valid`` (re-entry); else → ``already_used``
    with the first entry's time, device and gate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.model import (
    CheckinList,
    CheckinRecord,
    Direction,
    Event,
    LocalizedText,
    Movement,
    PassRule,
    Performance,
    Tariff,
    TicketRecord,
    TicketStatus,
)
from kiosk.domain.timeutil import venue_day


class VerdictCode(enum.StrEnum):
    VALID = "valid"
    ALREADY_USED = "already_used"
    UNKNOWN = "unknown"
    INVALID_SIGNATURE = "invalid_signature"
    WRONG_EVENT = "wrong_event"
    WRONG_PERFORMANCE = "wrong_performance"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    NOT_ON_THIS_LIST = "not_on_this_list"
    EXIT_RECORDED = "exit_recorded"
    NOT_INSIDE = "not_inside"


@dataclass(frozen=True)
class TicketDisplay:
    """What the door screen shows about a ticket: enough to recognise it, no more personal data than needed."""

    ticket_id: int
    tariff_name: LocalizedText
    tariff_icon: str
    event_name: LocalizedText
    holder_name: str | None
    performance_starts: datetime | None


@dataclass(frozen=True)
class Verdict:
    code: VerdictCode
    detail: str = ""
    ticket: TicketRecord | None = None
    display: TicketDisplay | None = None
    movement: Movement | None = None
    performance_id: int | None = None
    first_use: CheckinRecord | None = None
    entries_used: int | None = None  # entries of this performance, this one included (the door shows 2/3)

    @property
    def admitted(self) -> bool:
        return self.code is VerdictCode.VALID

    @property
    def records_movement(self) -> bool:
        """True when the scan changes who is inside (a check-in row), false for a refusal (failed-scan row)."""
        return self.code in (VerdictCode.VALID, VerdictCode.EXIT_RECORDED)


@dataclass(frozen=True)
class GateContext:
    """Where and how the scan happens. `performances` are those of the list's events."""

    device_id: str
    gate: str
    checkin_list: CheckinList
    performances: tuple[Performance, ...]
    direction: Direction = Direction.ENTRY


@dataclass(frozen=True)
class TicketFacts:
    """Everything the device knows about one identified ticket."""

    ticket: TicketRecord
    revoked: bool = False
    tariff: Tariff | None = None
    event: Event | None = None
    pass_rule: PassRule | None = None
    history: tuple[CheckinRecord, ...] = ()


def refuse_unreadable() -> Verdict:
    return Verdict(VerdictCode.UNKNOWN, "unreadable")


def refuse_signature(reason: str) -> Verdict:
    return Verdict(VerdictCode.INVALID_SIGNATURE, reason)


def refuse_unknown() -> Verdict:
    return Verdict(VerdictCode.UNKNOWN, "not_in_list")


def _display(facts: TicketFacts, performance: Performance | None) -> TicketDisplay:
    tariff = facts.tariff
    return TicketDisplay(
        ticket_id=facts.ticket.ticket_id,
        tariff_name=tariff.name if tariff else {},
        tariff_icon=tariff.icon if tariff else "standard",
        event_name=facts.event.name if facts.event else {},
        holder_name=facts.ticket.holder_name,
        performance_starts=performance.starts_at if performance else None,
    )


@dataclass(frozen=True)
class _Scope:
    """The performance a scan is for, or the refusal that stops it."""

    performance: Performance | None = None
    refusal: VerdictCode | None = None
    detail: str = ""


def _window_scope(ticket: TicketRecord, rule: PassRule | None, now: datetime) -> _Scope | None:
    start = ticket.valid_from or (rule.valid_from if rule else None)
    end = ticket.valid_until or (rule.valid_until if rule else None)
    if start is not None and now < start:
        return _Scope(refusal=VerdictCode.NOT_YET_VALID, detail="before_validity")
    if end is not None and now > end:
        return _Scope(refusal=VerdictCode.EXPIRED, detail="after_validity")
    return None


def _bound_scope(ticket: TicketRecord, ctx: GateContext, now: datetime) -> _Scope:
    own = next((p for p in ctx.performances if p.id == ticket.performance_id), None)
    if own is None:
        return _Scope(refusal=VerdictCode.WRONG_PERFORMANCE, detail="performance_not_on_list")
    if own.is_open(now):
        return _Scope(performance=own)
    if now > own.closes:
        return _Scope(performance=own, refusal=VerdictCode.EXPIRED, detail="admission_closed")
    if any(p.is_open(now) for p in ctx.performances):
        return _Scope(performance=own, refusal=VerdictCode.WRONG_PERFORMANCE, detail="other_date")
    return _Scope(performance=own, refusal=VerdictCode.NOT_YET_VALID, detail="doors_not_open")


def _pass_scope(rule: PassRule | None, ticket: TicketRecord, ctx: GateContext, now: datetime) -> _Scope:
    covered = [p for p in ctx.performances if (rule.covers(p.event_id) if rule else p.event_id == ticket.event_id)]
    open_now = [p for p in covered if p.is_open(now)]
    if open_now:
        return _Scope(performance=min(open_now, key=lambda p: p.starts_at))
    if any(p.doors_open > now for p in covered):
        return _Scope(refusal=VerdictCode.NOT_YET_VALID, detail="doors_not_open")
    return _Scope(refusal=VerdictCode.EXPIRED, detail="no_open_performance")


def _serves_event(facts: TicketFacts, lst: CheckinList) -> bool:
    rule = facts.pass_rule
    if rule is not None:
        return any(rule.covers(e) for e in lst.event_ids)
    return facts.ticket.event_id in lst.event_ids


def _movements(history: tuple[CheckinRecord, ...], performance: Performance | None) -> list[CheckinRecord]:
    scoped = [h for h in history if performance is None or h.performance_id == performance.id]
    return sorted(scoped, key=lambda h: h.at)


def _exit(base: Verdict, ctx: GateContext, moves: list[CheckinRecord]) -> Verdict:
    if not ctx.checkin_list.allow_exit:
        return _with(base, VerdictCode.NOT_ON_THIS_LIST, "exit_not_allowed")
    if not moves or moves[-1].movement is Movement.EXIT:
        return _with(base, VerdictCode.NOT_INSIDE)
    return _with(base, VerdictCode.EXIT_RECORDED, movement=Movement.EXIT)


def _entry(base: Verdict, facts: TicketFacts, ctx: GateContext, moves: list[CheckinRecord], now: datetime) -> Verdict:
    entries = [m for m in moves if m.movement is Movement.ENTRY]
    first = entries[0] if entries else None
    if len(entries) < facts.ticket.entries_allowed:
        rule = facts.pass_rule
        if rule is not None and rule.entries_per_day is not None:
            today = venue_day(now)
            used_today = [h for h in facts.history if h.movement is Movement.ENTRY and venue_day(h.at) == today]
            if len(used_today) >= rule.entries_per_day:
                return _with(
                    base,
                    VerdictCode.ALREADY_USED,
                    "daily_limit",
                    first_use=min(used_today, key=lambda h: h.at),
                    entries_used=len(entries),
                )
        return _with(base, VerdictCode.VALID, movement=Movement.ENTRY, entries_used=len(entries) + 1)
    if moves and moves[-1].movement is Movement.EXIT and ctx.checkin_list.allow_reentry:
        return _with(base, VerdictCode.VALID, "reentry", movement=Movement.REENTRY, first_use=first)
    return _with(base, VerdictCode.ALREADY_USED, first_use=first, entries_used=len(entries))


def _with(
    base: Verdict,
    code: VerdictCode,
    detail: str = "",
    *,
    movement: Movement | None = None,
    first_use: CheckinRecord | None = None,
    entries_used: int | None = None,
) -> Verdict:
    return Verdict(code, detail, base.ticket, base.display, movement, base.performance_id, first_use, entries_used)


def decide(facts: TicketFacts, ctx: GateContext, now: datetime) -> Verdict:
    """Rules 4–11 for an identified ticket (rules 1–3 are the `refuse_*` helpers, applied while identifying)."""
    ticket = facts.ticket
    if facts.revoked:
        return Verdict(VerdictCode.REVOKED, ticket=ticket, display=_display(facts, None))
    if ticket.status is TicketStatus.CANCELLED:
        return Verdict(VerdictCode.CANCELLED, ticket=ticket, display=_display(facts, None))
    lst = ctx.checkin_list
    if not _serves_event(facts, lst):
        return Verdict(VerdictCode.WRONG_EVENT, ticket=ticket, display=_display(facts, None))
    scope = _window_scope(ticket, facts.pass_rule, now)
    if scope is None:
        if ticket.performance_id is not None:
            scope = _bound_scope(ticket, ctx, now)
        else:
            scope = _pass_scope(facts.pass_rule, ticket, ctx, now)
    perf = scope.performance
    base = Verdict(
        VerdictCode.VALID,
        ticket=ticket,
        display=_display(facts, perf),
        performance_id=perf.id if perf else None,
    )
    if scope.refusal is not None:
        return _with(base, scope.refusal, scope.detail)
    assert perf is not None  # a scope without refusal always has a performance
    if not lst.accepts_tariff(ticket.tariff_id):
        return _with(base, VerdictCode.NOT_ON_THIS_LIST, "tariff")
    if not lst.accepts_performance(perf.id):
        return _with(base, VerdictCode.NOT_ON_THIS_LIST, "performance")
    moves = _movements(facts.history, perf)
    if ctx.direction is Direction.EXIT:
        return _exit(base, ctx, moves)
    return _entry(base, facts, ctx, moves, now)
