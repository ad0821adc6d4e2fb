"""Central's time as the device last saw it (signed acks, verified commands), kept for the self-test's clock check.

`saw()` remembers the newest verified time; `tick()` writes it to the state directory (firmware_config's
`record_central_time`, which fsyncs) at most once per interval, and a failed write (full disk) is logged and
tried again at the next interval.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from firmware_config.clock import record_central_time
from sync_agent.timers import Deadline, Monotonic

log = logging.getLogger("kiosk.sync")


class CentralTime:
    def __init__(self, state_dir: Path | None, interval: float, *, monotonic: Monotonic = time.monotonic) -> None:
        self.state_dir, self.interval = state_dir, interval
        self._pending: datetime | None = None  # newest verified time from central, not written yet
        self._written: datetime | None = None
        self._due = Deadline(monotonic)  # the first one is written at once, then at most once per interval

    def saw(self, at: datetime) -> None:
        """Remember a time carried by a verified message from central (never one older than already seen)."""
        if self.state_dir is None or at.tzinfo is None:
            return
        newest = max((x for x in (self._pending, self._written) if x is not None), default=None)
        if newest is None or at > newest:
            self._pending = at

    def tick(self, force: bool = False) -> None:
        at, state_dir = self._pending, self.state_dir
        if at is None or state_dir is None:
            return
        if not force and not self._due.due():
            return
        self._due.after(self.interval)
        try:
            record_central_time(state_dir, at)
        except OSError as exc:
            log.warning("could not record central's time in %s: %s", state_dir, exc)
            return
        self._pending, self._written = None, at
