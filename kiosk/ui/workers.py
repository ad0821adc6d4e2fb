"""Background work for the UI: database, printer and status calls run in a thread pool, results come back on
the Kivy thread through the Clock, so the UI thread never waits on I/O. A busy store is retried with backoff in the
worker (counted in `store_busy` for the technician screen); what still fails reaches `failed`, and the pool goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar, TypeVarTuple

from kivy.clock import Clock

from kiosk.services.store_retry import DEFAULT_BACKOFF, Backoff, BusyMeter, retry_store

log = logging.getLogger(__name__)
R = TypeVar("R")
Args = TypeVarTuple("Args")


class Worker:
    """`submit(fn, *args, done=cb, failed=cb)`: fn runs in a worker; cb(result) / failed(exc) run on the UI thread."""

    def __init__(self, threads: int = 2, backoff: Backoff = DEFAULT_BACKOFF) -> None:
        # Every task handed in is safe to repeat after a busy error (reads; sales keyed by order id; scans).
        self._backoff = backoff
        self.store_busy = BusyMeter()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kiosk-ui-worker")
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        with self._lock:
            return self._busy

    def submit(
        self,
        fn: Callable[[*Args], R],
        *args: *Args,
        done: Callable[[R], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> Future[R]:
        with self._lock:
            self._busy += 1
        name = getattr(fn, "__qualname__", "background task")
        future = self._pool.submit(
            retry_store, lambda: fn(*args), backoff=self._backoff, meter=self.store_busy, what=name
        )

        def finished(f: Future[R]) -> None:
            exc = f.exception()

            def deliver(_dt: float) -> None:
                try:
                    if exc is not None:
                        if failed is not None:
                            failed(exc)
                        else:
                            log.error("background task failed", exc_info=exc)
                    elif done is not None:
                        done(f.result())
                finally:
                    with self._lock:
                        self._busy -= 1

            Clock.schedule_once(deliver, 0)

        future.add_done_callback(finished)
        return future

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
