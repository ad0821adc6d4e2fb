"""The agent's timers: deadlines on an injectable monotonic clock, so each part's timing is testable without waiting.

Wall-clock time (what rows and messages carry) comes from the injected `kiosk.domain.clock.Clock`; these only say
when something is due again, and the system's clock stepping (NTP, DST has no effect on either) never moves them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Monotonic = Callable[[], float]


class Deadline:
    """A point on the monotonic clock, due from the start: `due()` once reached, `after(s)` sets it `s` from now."""

    def __init__(self, monotonic: Monotonic = time.monotonic) -> None:
        self._mono = monotonic
        self.at = float("-inf")

    def due(self) -> bool:
        return self._mono() >= self.at

    def after(self, seconds: float) -> None:
        self.at = self._mono() + seconds

    def clear(self) -> None:
        """Due at once."""
        self.at = float("-inf")
