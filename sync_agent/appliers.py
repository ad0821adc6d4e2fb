"""Inbound appliers: every message the agent receives goes to the drain (acks) or to `InboundHandler` (the rest).

paho acknowledges a QoS 1 message once its callback returns, so a message the store could not take (another
writer held the lock) must not be dropped: it waits here, in arrival order, and is applied on a later turn
(with backoff, see `StoreGuard`). Messages that arrive meanwhile queue behind it, so a ticket delta never
overtakes the one before it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from functools import partial

from kiosk.adapters.store import sync_repository as repo
from kiosk.adapters.store.engine import Store
from kiosk.domain.clock import Clock
from kiosk.domain.timeutil import parse_instant
from sync_agent import messages as m
from sync_agent.drain import OutboundDrain
from sync_agent.guard import StoreGuard
from sync_agent.inbound import InboundHandler
from sync_agent.signing import SignatureError
from sync_agent.topics import DeviceTopics

log = logging.getLogger("kiosk.sync")
# Messages kept while the store is busy; past that the oldest go (logged): retained data comes again with the next
# session, and a lost ticket delta shows as a gap, which asks central for the list again.
MAX_WAITING = 2000


class InboundAppliers:
    """`receive(topic, payload)` from the MQTT callback; `retry()` once per loop turn."""

    def __init__(
        self,
        store: Store,
        topics: DeviceTopics,
        handler: InboundHandler,
        drain: OutboundDrain,
        guard: StoreGuard,
        clock: Clock,
        *,
        on_central_time: Callable[[datetime], None] | None = None,
    ) -> None:
        self.store, self.topics, self.handler, self.drain = store, topics, handler, drain
        self.guard, self.clock = guard, clock
        self.on_central_time = on_central_time
        self._waiting: deque[tuple[str, bytes]] = deque()
        self.dropped = 0
        self.changed = False  # central data arrived (the status row's data age)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def receive(self, topic: str, payload: bytes) -> None:
        """Never raises: paho would re-raise out of its loop and not acknowledge the message, which the broker
        then delivers again to the restarted agent, forever. A message that cannot be handled is counted."""
        try:
            self._receive(topic, payload)
        except Exception as exc:
            log.exception("inbound message on %s could not be handled", topic)
            self.handler.reject(topic, "error", type(exc).__name__)

    def _receive(self, topic: str, payload: bytes) -> None:
        if topic == self.topics.ack:
            self._ack(payload)
            return
        try:
            m.check_size(self.handler.kind_of(topic) or "", payload)
        except m.MessageError as exc:  # refused now, never kept in memory while the store is busy
            self.handler.reject(topic, exc.reason, exc.detail)
            return
        if len(self._waiting) >= MAX_WAITING:
            self._waiting.popleft()
            self.dropped += 1
            log.warning("store busy for long: dropped the oldest waiting inbound message (%d so far)", self.dropped)
        self._waiting.append((topic, payload))
        self.retry()

    def retry(self) -> None:
        """Apply waiting messages in order until the store is busy again."""
        while self._waiting:
            topic, payload = self._waiting[0]
            if self.guard.attempt("inbound", partial(self.handler.handle, topic, payload)) is None:
                return
            self._waiting.popleft()
            if self.handler.data_changed:
                self.handler.data_changed = False
                self.changed = True

    def _ack(self, payload: bytes) -> None:
        try:
            m.check_size("ack", payload)
            ack = self.handler.open_signed(payload, m.Ack)
            if ack.device_id != self.topics.device:
                raise m.MessageError("wrong_device", ack.device_id)
        except (m.MessageError, SignatureError) as exc:
            log.warning("rejected an ack: %s", exc)
            self._count_rejected_ack(exc.reason)
            return
        if ack.at is not None and self.on_central_time is not None:  # signature and device verified above
            try:
                self.on_central_time(parse_instant(ack.at))
            except ValueError:
                log.warning("central's ack carries an unreadable time %r: not recorded", ack.at[:40])
        self.drain.take_ack(ack)

    def _count_rejected_ack(self, reason: str) -> None:
        now = self.clock()

        def write() -> bool:
            with self.store.write() as conn:
                repo.count_inbound(conn, "ack", reason, now)
            return True

        self.guard.attempt("ack_count", write)  # a counter: not worth keeping around while the store is busy
