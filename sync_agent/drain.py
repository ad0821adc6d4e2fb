"""Outbound drain: outbox → central in sequence-ordered batches, marked synced only on central's ack.

At most `window` batches are in flight; a batch not acked within `ack_timeout` is sent again from the oldest
pending event (central dedupes on event id). Verified acks are queued and written in order; while the store is
busy they wait (with backoff, see `StoreGuard`) and nothing is lost. New local check-ins are also shared with
the venue's other doors (`sync_agent.peers`), and the ticket-list resync requests of the appliers go out from here.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.adapters.store import sync_repository as repo
from kiosk.adapters.store.engine import Store
from kiosk.domain.clock import Clock
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.guard import StoreGuard
from sync_agent.mqtt import Publisher
from sync_agent.outbound import Batch, next_batch
from sync_agent.peers import PEER_SEQ, PeerSharing
from sync_agent.settings import AgentCounters, AgentSettings
from sync_agent.timers import Deadline, Monotonic
from sync_agent.topics import DeviceTopics

log = logging.getLogger("kiosk.sync")
__all__ = ["PEER_SEQ", "OutboundDrain"]
IDLE_POLL = 0.05  # seconds between outbox polls when there is nothing to send


@dataclass
class _InFlight:
    event_ids: list[str]
    last_seq: int
    sent_at: float


class OutboundDrain:
    """Sends batches and peer admissions through `publisher`, applies acks; `pump()` once per loop turn."""

    def __init__(
        self,
        store: Store,
        settings: AgentSettings,
        publisher: Publisher,
        guard: StoreGuard,
        counters: AgentCounters,
        clock: Clock,
        *,
        peer_seq: int = 0,
        device_key: Ed25519PrivateKey | None = None,
        last_ack_at: datetime | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.store, self.s, self.publisher = store, settings, publisher
        self.topics = DeviceTopics(settings.venue, settings.device)
        self.guard, self.counters, self.clock, self._mono = guard, counters, clock, monotonic
        self._inflight: OrderedDict[str, _InFlight] = OrderedDict()
        self._cursor = 0  # highest seq sent since the last reset
        self._idle = Deadline(monotonic)  # nothing new in the outbox: the next look
        self._acks: deque[m.Ack] = deque()  # verified, not written yet (oldest first)
        # Check-ins shared with the other doors, signed with the device key (sync_agent.peers).
        self.peers = PeerSharing(
            store, self.topics, publisher, guard, device_key, monotonic,
            peer_seq=peer_seq, cursor_interval=settings.peer_cursor_interval,
        )  # fmt: skip
        self._resync_wanted: tuple[str, int, int] | None = None
        self._resync_due = Deadline(monotonic)  # requests at most once per resync_interval
        self.last_ack_at = last_ack_at  # survives restarts (read from the status row)
        self.changed = False  # something the status row shows changed since the presence part last looked

    @property
    def peer_seq(self) -> int:
        """Outbox seq up to which check-ins were shared with the other doors (the pruner keeps the rest)."""
        return self.peers.peer_seq

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    @property
    def acks_waiting(self) -> int:
        return len(self._acks)

    def reset(self) -> None:
        """Whatever was in flight (on the old connection) is sent again from the oldest pending event."""
        self._inflight.clear()
        self._cursor = 0
        self._idle.clear()
        self.peers.connected()

    def want_resync(self, reason: str, snapshot: int, seq: int) -> None:
        self._resync_wanted = (reason, snapshot, seq)

    def pump(self, online: bool) -> None:
        """Write waiting acks, then (online) resend on timeout, fill the window, share admissions, ask resync."""
        self.apply_acks()
        if not online:
            return
        mono = self._mono()
        if self._inflight:
            oldest = next(iter(self._inflight.values()))
            if mono - oldest.sent_at > self.s.ack_timeout:
                log.info("no ack for %.1fs: sending the pending events again", self.s.ack_timeout)
                self.counters.resends += 1
                self.reset()
        if self._idle.due():
            while len(self._inflight) < self.s.window:
                if not self._send_batch(mono):
                    self._idle.after(IDLE_POLL)  # nothing new: look again shortly, not every turn
                    break
            self.counters.peer_published += self.peers.pump()
        self._send_resync()

    def _send_batch(self, mono: float) -> bool:
        def read() -> Batch | None:
            with self.store.read() as conn:
                return next_batch(conn, self.s.device, self._cursor, self.s.batch_size, iso(self.clock()))

        batch = self.guard.attempt("drain", read, writes=False)
        if batch is None:
            return False
        self.publisher.publish(self.topics.tx, batch.body, qos=1)
        self._inflight[batch.batch_id] = _InFlight(batch.event_ids, batch.last_seq, mono)
        self._cursor = batch.last_seq
        self.counters.batches_sent += 1
        self.counters.events_sent += len(batch.event_ids)
        return True

    # ---- acks ---------------------------------------------------------------------------------------------

    def take_ack(self, ack: m.Ack) -> None:
        """A verified ack for this device: its batch leaves the window now, its events are marked when written."""
        self._inflight.pop(ack.batch_id, None)
        self._idle.clear()
        self._acks.append(ack)
        self.apply_acks()

    def apply_acks(self) -> None:
        while self._acks:
            ack = self._acks[0]
            if self.guard.attempt("ack", partial(self._write_ack, ack)) is None:
                return  # busy: the ack (and those behind it) are written on a later turn
            self._acks.popleft()

    def _write_ack(self, ack: m.Ack) -> bool:
        now = self.clock()
        rejected = {r.event_id: r.reason for r in ack.rejected}
        with self.store.write() as conn:
            reasons = repo.dead_letter(conn, rejected, now)
            repo.mark_synced(conn, [*ack.acked, *rejected], now)
        if reasons:
            log.warning("central rejected %d events (first: %s)", len(reasons), reasons[0])
        self.last_ack_at = now
        self.counters.acks += 1
        self.counters.acked_events += len(ack.acked)
        self.counters.dead_letters += len(rejected)
        self.changed = True
        return True

    # ---- peers and resync -----------------------------------------------------------------------------------

    def _send_resync(self) -> None:
        if self._resync_wanted is None or not self._resync_due.due():
            return
        reason, snapshot, seq = self._resync_wanted
        req = m.ResyncRequest(v=1, device_id=self.s.device, reason=reason, snapshot_id=snapshot, seq=seq)
        self.publisher.publish(self.topics.resync, m.dumps(req), qos=1)
        self._resync_due.after(self.s.resync_interval)
        self._resync_wanted = None
        log.info("asked central for the ticket list again (%s at %d@%d)", reason, snapshot, seq)
