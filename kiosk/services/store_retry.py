"""Riding out a busy or just-full store: retry with backoff, count it for the status, and never end a loop.

A store locked longer than its busy timeout raises an error whose `reason` is `store_busy` (the agent's sync, a
technician's sqlite3 shell, a backup); a full disk whose reserve was just released raises `store_full` with
`retry_now`. Both are worth another try; anything else is the caller's. The reasons are matched, not the adapter
classes, so services stay free of adapters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")

STORE_BUSY = "store_busy"
STORE_FULL = "store_full"


def retryable(exc: BaseException) -> bool:
    reason = getattr(exc, "reason", None)
    return reason == STORE_BUSY or (reason == STORE_FULL and bool(getattr(exc, "retry_now", False)))


@dataclass(frozen=True)
class Backoff:
    """Up to `attempts` tries; the waits between them double from `first` up to `cap` seconds."""

    attempts: int = 5
    first: float = 0.2
    cap: float = 3.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.cap)


DEFAULT_BACKOFF = Backoff()
# For a write that must not be lost (a printed label's outcome): ~15 s of waits plus the busy timeouts.
PATIENT_BACKOFF = Backoff(attempts=8)


@dataclass(frozen=True)
class BusyView:
    retries: int  # tries repeated because the store was busy (or had just released its reserve)
    gave_up: int  # operations that stayed busy through every try (reported to the caller as errors)
    last: str  # the last such error, for the technician


class BusyMeter:
    """Thread-safe counters of busy-store retries, for a status line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retries = self._gave_up = 0
        self._last = ""

    def retried(self, exc: BaseException) -> None:
        with self._lock:
            self._retries += 1
            self._last = str(exc)[:200]

    def failed(self) -> None:
        with self._lock:
            self._gave_up += 1

    def view(self) -> BusyView:
        with self._lock:
            return BusyView(self._retries, self._gave_up, self._last)


def retry_store(
    fn: Callable[[], R],
    *,
    backoff: Backoff = DEFAULT_BACKOFF,
    meter: BusyMeter | None = None,
    wait: Callable[[float], object] = time.sleep,
    what: str = "store write",
) -> R:
    """`fn()`, tried again while the store is busy; the last try's error reaches the caller.

    `wait(seconds)` returning true (a stop event's `wait`) ends the retries early. `fn` must be safe to repeat
    after a busy error: a transaction that hit the lock wrote nothing.
    """
    for delay in backoff.delays():
        try:
            return fn()
        except Exception as exc:
            if not retryable(exc):
                raise
            if meter is not None:
                meter.retried(exc)
            log.warning("%s: %s; retrying in %.1f s", what, exc, delay)
            if getattr(exc, "reason", None) == STORE_BUSY and wait(delay):
                break
    try:
        return fn()
    except Exception as exc:
        if meter is not None and retryable(exc):
            meter.failed()
        raise
