"""The one clock: every component takes a `Clock` (a callable returning an aware UTC instant) instead of asking the OS.

Production code uses `system_clock`; tests and the demo pass `fixed_clock(...)` or a `SteppingClock`, so no
behaviour depends on the day the suite runs. Nothing else in the code base may call `datetime.now`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The operating system's time, as an aware UTC instant."""
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock that always answers `at` (aware; converted to UTC)."""
    if at.tzinfo is None:
        raise ValueError("fixed_clock needs an aware datetime")
    instant = at.astimezone(UTC)
    return lambda: instant


class SteppingClock:
    """A settable clock for tests: starts at `at`, moves only when told (`advance`, `set`)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("SteppingClock needs an aware datetime")
        self._now = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)
