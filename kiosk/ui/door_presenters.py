"""Door-only presenters (pure): which verdict holds the screen, the scan history, first-use words, camera state.

A refusal must not be wiped by the next guest's green (issue 12): `VerdictBoard` keeps a refusal on screen until
staff tap it or `hold_s` has passed; verdicts of scans that arrive meanwhile (already recorded: only their showing
waits) are queued and shown after it, in order, so the refused guest never walks in on the next guest's green and
no verdict is lost. Every verdict also goes into the history (last 10) that the door screen lists.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from babel.dates import format_timedelta

from kiosk.domain.catalog import Catalog
from kiosk.domain.verdicts import Verdict, VerdictCode
from kiosk.ui import i18n
from kiosk.ui.i18n import N_
from kiosk.ui.presenters import Tr

T = TypeVar("T")
REFUSAL_HOLD_S = 3.0  # AppServices.refusal_hold_s overrides it
HISTORY_SIZE = 10
QUEUE_SIZE = 50  # far more than a door scans in one hold; past it the oldest waiting verdict is dropped (logged)
REFUSALS = ("warn", "stop")
RELATIVE_LIMIT = timedelta(hours=6)  # older first uses read as a day and a time


@dataclass
class VerdictBoard(Generic[T]):
    """What the verdict overlay shows now, and what waits. Times are monotonic seconds given by the caller."""

    hold_s: float = REFUSAL_HOLD_S
    current: T | None = None
    current_kind: str = ""
    since: float = 0.0
    waiting: deque[tuple[T, str]] = field(default_factory=deque)

    def holds(self, now: float) -> bool:
        """True while a refusal may not be replaced by a scan (only a staff tap removes it)."""
        return self.current is not None and self.current_kind in REFUSALS and now - self.since < self.hold_s

    def offer(self, item: T, kind: str, now: float) -> bool:
        """A new verdict: shown now (True) or queued behind the refusal on screen (False)."""
        if self.holds(now) or (self.current is not None and self.waiting):
            self.waiting.append((item, kind))
            while len(self.waiting) > QUEUE_SIZE:
                self.waiting.popleft()
            return False
        self._show(item, kind, now)
        return True

    def release(self, now: float) -> T | None:
        """The shown verdict ends (its time is up, or staff tapped it): the next waiting one, or None (hide)."""
        if self.waiting:
            item, kind = self.waiting.popleft()
            self._show(item, kind, now)
            return item
        self.current, self.current_kind = None, ""
        return None

    def clear(self) -> None:
        self.current, self.current_kind = None, ""
        self.waiting.clear()

    def _show(self, item: T, kind: str, now: float) -> None:
        self.current, self.current_kind, self.since = item, kind, now


@dataclass(frozen=True)
class HistoryItem:
    kind: str  # ok | warn | stop | exit
    title: str  # the verdict's words, already translated
    label: str  # short: the tariff, or the last characters of the code
    at: datetime


def push_history(history: tuple[T, ...], item: T) -> tuple[T, ...]:
    """Newest first, at most HISTORY_SIZE."""
    return (item, *history)[:HISTORY_SIZE]


def history_line(item: HistoryItem, lang: str) -> str:
    parts = [i18n.time_of(item.at, lang), item.title]
    if item.label:
        parts.append(item.label)
    return " · ".join(parts)


def short_code(code: str) -> str:
    """Enough of a code for staff to recognise it in the history, not a full ticket code on screen."""
    code = code.strip()
    return code if len(code) <= 8 else "…" + code[-6:]


def door_name(gate: str, catalog: Catalog | None) -> str:
    """The name staff know a door by: its check-in list's name in the catalog, the raw gate id without one."""
    if catalog is None or gate not in catalog.gates:
        return gate
    return catalog.list_for_gate(gate).name or gate


def ago(at: datetime, now: datetime, lang: str) -> str:
    """'2 minutes ago' / 'il y a 2 minutes', or a day and a time when it is long ago (or in the future: skew)."""
    delta = now - at
    if timedelta(0) <= delta <= RELATIVE_LIMIT:
        text: str = format_timedelta(
            -delta, threshold=1.0, add_direction=True, locale=i18n.BABEL_LOCALES[i18n.norm(lang)]
        )
        return text
    return f"{i18n.day_of(at, lang)} {i18n.time_of(at, lang)}"


def first_use_text(
    verdict: Verdict, gate: str, catalog: Catalog | None, now: datetime, tr: Tr, lang: str
) -> str | None:
    """The already-used detail in words staff act on: when (relative), where (door name), entries used/allowed."""
    first = verdict.first_use
    if verdict.code is not VerdictCode.ALREADY_USED or first is None:
        return None
    when = ago(first.at, now, lang)
    if first.gate == gate:
        text = tr(N_("First used {ago}, at this door."), lang).format(ago=when)
    else:
        text = tr(N_("First used {ago}, at door {door}."), lang).format(ago=when, door=door_name(first.gate, catalog))
    if verdict.detail == "daily_limit":
        text = tr(N_("The entries allowed today have been used."), lang) + " " + text
    return text


def entries_text(verdict: Verdict, tr: Tr, lang: str) -> str:
    """'Entries: 2/3' for a multi-entry ticket (admitted or refused), '' for a single-entry one."""
    ticket = verdict.ticket
    if ticket is None or ticket.entries_allowed <= 1 or verdict.entries_used is None:
        return ""
    return tr(N_("Entries: {used}/{allowed}"), lang).format(used=verdict.entries_used, allowed=ticket.entries_allowed)


_CAMERA_STATES = {
    "starting": N_("Camera starting…"),
    "failed": N_("Camera not working: scan with the keypad or a hand scanner, and call the technician."),
    "stalled": N_("Camera not sending pictures: scan with the keypad or a hand scanner, and call the technician."),
    "unavailable": N_("Camera not working: scan with the keypad or a hand scanner, and call the technician."),
}


def camera_text(has_camera: bool, state: str, tr: Tr, lang: str) -> str:
    """What the door screen says over the preview about its camera ('' when it works; details: technician)."""
    if not has_camera:
        return tr(N_("No camera on this kiosk"), lang)
    return tr(_CAMERA_STATES[state], lang) if state in _CAMERA_STATES else ""
