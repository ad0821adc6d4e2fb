"""Capped exponential backoff with full jitter (AWS architecture blog's "full jitter"): spreads reconnects.

Written here: it is ten lines, and paho's own reconnect delay has no jitter (a venue's 20 doors reconnecting to
a restarted broker in lock-step is what jitter avoids).
"""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """`next()` gives the next delay: uniform in [0, min(cap, base * 2**attempt)], never below `floor`."""

    def __init__(
        self, base: float = 0.5, cap: float = 30.0, floor: float = 0.05, rand: Callable[[], float] = random.random
    ) -> None:
        if base <= 0 or cap < base or floor < 0:
            raise ValueError("backoff needs 0 < base <= cap and floor >= 0")
        self.base, self.cap, self.floor = base, cap, floor
        self.attempt = 0
        self._rand = rand

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return float(max(self.floor, ceiling * self._rand()))

    def reset(self) -> None:
        self.attempt = 0
