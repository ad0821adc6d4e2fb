"""Central's time as the device last saw it (signed acks, verified commands), kept for the self-test's clock check.

`saw()` remembers the newest verified time; `tick()` writes it to the state directory (firmware_config's
`record_central_time`, which fsyncs) at most once per interval, and a failed write (full disk) is logged and
tried again at the next interval. `now()` is what the device knows of central's time now: at least the newest
verified time plus the monotonic time elapsed since it was seen (a device clock that is wrong or jumps, like an
RTC that lost power then NTP, does not move it); commands are judged by it (`sync_agent.commands`).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
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
        self._monotonic = monotonic
        self._newest: tuple[datetime, float] | None = None  # newest verified time, and the monotonic time then

    def saw(self, at: datetime) -> None:
        """Remember a time carried by a verified message from central (never one older than already seen)."""
        if at.tzinfo is None:
            return
        if self._newest is not None and at <= self._newest[0]:
            return
        self._newest = (at, self._monotonic())
        if self.state_dir is not None:
            self._pending = at

    def now(self) -> datetime | None:
        """A lower bound of central's time now, or None before central was heard from in this run."""
        if self._newest is None:
            return None
        at, seen = self._newest
        return at + timedelta(seconds=max(0.0, self._monotonic() - seen))

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
