"""Every store access of the agent's loop goes through a `StoreGuard`: a busy or failing store never kills the loop.

An access that fails with `StoreError` is given up for now and tried again after a capped, jittered backoff.
While the store is in trouble, writes of every kind (status, acks, inbound, pruning…) share one backoff: one
write per delay probes the store, so the loop is not stalled by each of them waiting for the lock in turn.
Reads (which WAL lets through while another process writes) only back off after their own failures. The guard
remembers since when the store is in trouble, which presence and the systemd STATUS line report; the first
write that goes through again ends the trouble.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from kiosk.adapters.store.engine import StoreError
from kiosk.adapters.store.sync_repository import is_busy
from kiosk.domain.clock import Clock
from kiosk.domain.timeutil import iso
from sync_agent.backoff import Backoff
from sync_agent.timers import Deadline, Monotonic

log = logging.getLogger("kiosk.sync.store")
T = TypeVar("T")


class _Retry:
    def __init__(self, backoff: Backoff, monotonic: Monotonic) -> None:
        self.backoff = backoff
        self.next = Deadline(monotonic)

    def failed(self) -> float:
        delay = self.backoff.next()
        self.next.after(delay)
        return delay

    def reset(self) -> None:
        self.backoff.reset()
        self.next.clear()


class StoreGuard:
    """Runs store accesses; `attempt` returns None (and schedules a retry) instead of raising `StoreError`."""

    def __init__(
        self,
        clock: Clock,
        *,
        base: float = 0.1,
        cap: float = 5.0,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.clock = clock
        self._base, self._cap = base, cap
        self._mono = monotonic
        self._retries: dict[str, _Retry] = {}
        self._writes = _Retry(Backoff(base, cap), monotonic)  # shared by every write while the store is in trouble
        self.trouble_since: datetime | None = None  # first failed access of the current trouble
        self.trouble: str = ""  # "busy" (another writer holds the lock) or "error" (full disk, corrupt…)
        self.failures = 0  # every failed access since start
        self.busy_failures = 0

    def ready(self, name: str, *, writes: bool = True) -> bool:
        """False while a backoff runs (`name`'s own, or for a write the store's): the caller skips it this turn."""
        if writes and self.trouble_since is not None and not self._writes.next.due():
            return False
        retry = self._retries.get(name)
        return retry is None or retry.next.due()

    def retry_now(self) -> None:
        """Forget every backoff (the clean stop's last try)."""
        for retry in (*self._retries.values(), self._writes):
            retry.next.clear()

    def attempt(self, name: str, access: Callable[[], T], *, writes: bool = True) -> T | None:
        """`access()`, or None when it is in its backoff or failed (then it is due again after the next delay)."""
        if not self.ready(name, writes=writes):
            return None
        started = self.clock()
        try:
            result = access()
        except StoreError as exc:
            self._failed(name, exc, started, writes)
            return None
        retry = self._retries.get(name)
        if retry is not None:
            retry.reset()
        if writes and self.trouble_since is not None:
            self._writes.reset()
            log.warning("device store usable again (%s since %s)", self.trouble, iso(self.trouble_since))
            self.trouble_since, self.trouble = None, ""
        return result

    def _failed(self, name: str, exc: StoreError, started: datetime, writes: bool) -> None:
        busy = is_busy(exc)
        self.failures += 1
        self.busy_failures += busy
        if writes:
            retry = self._writes
        else:
            retry = self._retries.setdefault(name, _Retry(Backoff(self._base, self._cap), self._mono))
        delay = retry.failed()
        if self.trouble_since is None:
            self.trouble_since = started
            log.error("device store %s (%s): %s; retrying with backoff", "busy" if busy else "error", name, exc)
        else:
            log.debug("device store still in trouble (%s): %s; next try in %.2fs", name, exc, delay)
        self.trouble = "busy" if busy else "error"

    def summary(self) -> str:
        """Empty when the store is fine, else e.g. "store busy since 2026-12-07T01:02:03.000000Z"."""
        if self.trouble_since is None:
            return ""
        return f"store {self.trouble} since {iso(self.trouble_since)}"

    def health(self) -> dict[str, str]:
        """The store's part of presence's `health`: {"store": "ok"} or its trouble and since when."""
        if self.trouble_since is None:
            return {"store": "ok"}
        return {"store": self.trouble, "store_trouble_since": iso(self.trouble_since)}
