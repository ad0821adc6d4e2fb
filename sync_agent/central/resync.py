"""Resync requests coalesced per venue: any authenticated device may ask for the ticket snapshot, so central
publishes it at most once per interval and owes one more publication at the interval's end for asks in between.

A full snapshot for a large venue is megabytes fanned out to every door; without this, one device looping on
`resync` (a bug or an attacker holding a door's credentials) would make central flood the venue's broker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

RESYNC_MIN_INTERVAL_S = 5.0  # how often at most a venue's snapshot is re-published on devices' request


class ResyncCoalescer:
    """`ask(venue)` publishes now, or once at the end of the interval if a publication is recent."""

    def __init__(
        self,
        publish: Callable[[str], None],
        interval_s: float = RESYNC_MIN_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish, self.interval_s, self._monotonic = publish, interval_s, monotonic
        self._last: dict[str, float] = {}
        self._owed: dict[str, threading.Timer] = {}
        self._lock = threading.Lock()
        self.published = 0
        self.coalesced = 0

    def ask(self, venue: str) -> None:
        with self._lock:
            now = self._monotonic()
            last = self._last.get(venue)
            if last is None or now - last >= self.interval_s:
                self._last[venue] = now
                self.published += 1
                run_now = True
            else:
                self.coalesced += 1
                run_now = False
                if venue not in self._owed:  # one owed publication covers every ask until it runs
                    timer = threading.Timer(self.interval_s - (now - last), self._owed_run, (venue,))
                    timer.daemon = True
                    self._owed[venue] = timer
                    timer.start()
        if run_now:
            self._publish(venue)

    def _owed_run(self, venue: str) -> None:
        with self._lock:
            self._owed.pop(venue, None)
            self._last[venue] = self._monotonic()
            self.published += 1
        self._publish(venue)

    def stop(self) -> None:
        with self._lock:
            for timer in self._owed.values():
                timer.cancel()
            self._owed.clear()
