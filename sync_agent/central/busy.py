"""Central's database busy past its timeout: batches are held and retried with backoff in a worker, and counted.

paho's network thread tries a batch once, waiting at most `FIRST_WAIT_S` for SQLite's write lock; a batch that
finds the database busy (and every batch arriving while some are held) goes to one worker thread, which retries
them in arrival order with a capped, jittered backoff. A batch is acked once committed, as always; one held
longer than `HOLD_S` is let go unacked (the device sends it again). The episode — since when, how many tries,
how many batches let go — is reported in the systemd STATUS line while it lasts and in `kiosk-central stats`
(table central_health) once the database takes writes again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import DBAPIError

from kiosk.adapters.store.engine import BUSY_TIMEOUT_MS
from kiosk.domain.clock import Clock
from kiosk.domain.timeutil import iso
from sync_agent.backoff import Backoff
from sync_agent.central import tables as ct
from sync_agent.messages import TxBatch

log = logging.getLogger("kiosk.central.busy")

HOLD_S = 30.0  # a held batch is let go after this: its device sends it again
MAX_HELD = 256  # batches held at once; beyond, a batch is let go at once (the device resends it)
FIRST_WAIT_S = 1.0  # the network thread's own wait for the lock (keepalive pings must go on)
REJECT_WAIT_S = 0.1  # a refused message's journal row: a flood of them must not stall the network thread
# PostgreSQL: lock_not_available, deadlock_detected, serialization_failure: worth a retry like SQLite's busy.
_PG_BUSY = {"55P03", "40P01", "40001"}


def is_db_busy(exc: BaseException) -> bool:
    """True when another connection held a lock past our wait (retry later), not a broken database."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_BUSY:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


@contextmanager
def brief_begin(engine: Engine, wait_s: float) -> Iterator[Connection]:
    """`engine.begin()`, waiting at most `wait_s` for SQLite's write lock (PostgreSQL: as configured)."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        # At the driver level: a statement through `conn` would begin the (IMMEDIATE) transaction first.
        raw = cast(Any, conn.connection.dbapi_connection)
        raw.execute(f"PRAGMA busy_timeout={max(1, int(wait_s * 1000))}")
        try:
            with conn.begin():
                yield conn
        finally:
            raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


@dataclass
class _Held:
    venue: str
    device: str
    batch: TxBatch
    since: float  # monotonic, when first held


@dataclass(frozen=True)
class Episode:
    since: datetime
    seconds: float
    retries: int
    let_go: int


Commit = Callable[[str, str, TxBatch], None]


class BusyRetry:
    """Holds the batches the database was too busy for and commits them (`commit`) from one worker thread."""

    def __init__(
        self,
        commit: Commit,
        clock: Clock,
        on_episode: Callable[[Episode], None] = lambda _e: None,
        *,
        base: float = 0.25,
        cap: float = 2.0,
        hold_s: float = HOLD_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._commit, self.clock, self._on_episode = commit, clock, on_episode
        self._backoff = Backoff(base, cap)
        self.hold_s, self._mono = hold_s, monotonic
        self._held: OrderedDict[tuple[str, str], _Held] = OrderedDict()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.busy_since: datetime | None = None  # first busy failure of the current episode
        self._episode_retries = self._episode_let_go = 0
        self.episodes = 0  # ended episodes since start
        self.retries = 0  # failed tries of held batches since start
        self.let_go = 0  # held batches given up since start (not acked: their devices resend them)
        self.last: Episode | None = None

    def holding(self) -> bool:
        """True while an episode runs (from the first busy failure to the next write that went through)."""
        with self._cond:
            return self.busy_since is not None

    def held(self) -> int:
        """Batches waiting for the worker: a new batch then queues behind them (arrival order kept)."""
        with self._cond:
            return len(self._held)

    def hold(self, venue: str, device: str, batch: TxBatch) -> None:
        key = (device, batch.batch_id)
        with self._cond:
            if self.busy_since is None:
                self.busy_since = self.clock()
                self._episode_retries = self._episode_let_go = 0
                log.error("central database busy (locked past the busy timeout): holding batches, retrying")
            if key not in self._held and len(self._held) >= MAX_HELD:
                self.let_go += 1
                self._episode_let_go += 1
                log.warning("%d batches held: batch %s of %s let go (the device resends it)", MAX_HELD, *key[::-1])
                return
            # A device's resend of a held batch takes its place (same content; the first one keeps its time).
            first = self._held[key].since if key in self._held else self._mono()
            self._held[key] = _Held(venue, device, batch, first)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="central-busy-retry", daemon=True)
                self._thread.start()
            self._cond.notify()

    def ok(self) -> None:
        """A write went through outside the worker: an episode with nothing held ends."""
        with self._cond:
            if self._held or self.busy_since is None:
                return
        self._end()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def summary(self) -> str:
        """Empty when the database takes writes, else e.g. "database busy since …, 3 batches held"."""
        with self._cond:
            if self.busy_since is None:
                return ""
            return f"database busy since {iso(self.busy_since)}, {len(self._held)} batches held"

    # ---- the worker -------------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self._backoff.next()
        while not self._stop.is_set():
            with self._cond:
                while not self._held and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
            if self._stop.wait(delay):
                return
            with self._cond:
                item = next(iter(self._held.values()))
            delay = self._try(item)

    def _try(self, item: _Held) -> float:
        """One try of the oldest held batch; the delay before the next try."""
        key = (item.device, item.batch.batch_id)
        try:
            self._commit(item.venue, item.device, item.batch)
        except Exception as exc:
            if not is_db_busy(exc):
                log.exception("central could not store held batch %s of %s", item.batch.batch_id, item.device)
                self._drop(key, counted=False)
                return self._backoff.floor
            with self._cond:
                self.retries += 1
                self._episode_retries += 1
            if self._mono() - item.since > self.hold_s:
                log.warning(
                    "batch %s of %s held %.1fs: let go (the device resends it)", *key[::-1], self._mono() - item.since
                )
                self._drop(key, counted=True)
            return self._backoff.next()
        self._backoff.reset()
        with self._cond:
            self._held.pop(key, None)
            empty = not self._held
        if empty:
            self._end()
        return self._backoff.floor

    def _drop(self, key: tuple[str, str], *, counted: bool) -> None:
        with self._cond:
            self._held.pop(key, None)
            if counted:
                self.let_go += 1
                self._episode_let_go += 1

    def _end(self) -> None:
        with self._cond:
            if self.busy_since is None or self._held:
                return
            since, self.busy_since = self.busy_since, None
            self.episodes += 1
            self.last = Episode(since, (self.clock() - since).total_seconds(), self._episode_retries,
                                self._episode_let_go)  # fmt: skip
            episode = self.last
        log.warning("central database usable again (busy since %s, %.1f s)", iso(since), episode.seconds)
        try:
            self._on_episode(episode)
        except Exception:
            log.exception("could not record the database busy episode")


def record_episode(conn: Connection, instance: str, episode: Episode, now: datetime) -> None:
    """Add an ended busy episode to this instance's row of central_health (`kiosk-central stats`)."""
    h = ct.health.c
    done = conn.execute(
        update(ct.health)
        .where(h.instance == instance)
        .values(
            {
                h.busy_episodes: h.busy_episodes + 1,
                h.busy_retries: h.busy_retries + episode.retries,
                h.busy_let_go: h.busy_let_go + episode.let_go,
                h.last_busy_since: iso(episode.since),
                h.last_busy_s: episode.seconds,
                h.updated_at: iso(now),
            }
        )
    ).rowcount
    if not done:
        conn.execute(
            insert(ct.health).values(
                instance=instance,
                busy_episodes=1,
                busy_retries=episode.retries,
                busy_let_go=episode.let_go,
                last_busy_since=iso(episode.since),
                last_busy_s=episode.seconds,
                updated_at=iso(now),
            )
        )
