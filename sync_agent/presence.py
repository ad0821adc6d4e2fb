"""Presence and status: the status row the UI reads, systemd's STATUS line, the retained presence for central.

The row is written when something changed (at most once per `status_interval`) and at least once per
`status_heartbeat` (its `updated_at` tells the UI the agent is alive). While the store is busy the row cannot be
written, but the STATUS line and presence still go out, from the last row written, saying since when the store
is busy (`StoreGuard.summary` / `health`), so a technician sees a busy store rather than a dead agent; the UI
sees the row's `updated_at` stop moving. The STATUS line says how many events are pending and how many sit in
dead letters (rejected by central, waiting for a technician), like the row and the presence do.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from firmware_config.wipe_request import pending_wipe
from kiosk.adapters.sdnotify import SystemdNotifier
from kiosk.adapters.store import sync_repository as repo
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.outbox_repository import outbox_top
from kiosk.adapters.store.sync_repository import SyncStatus
from kiosk.domain.clock import Clock
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.guard import StoreGuard
from sync_agent.inbound import DATA_AT
from sync_agent.mqtt import Publisher
from sync_agent.settings import AgentSettings
from sync_agent.timers import Deadline, Monotonic
from sync_agent.topics import DeviceTopics

OUTBOX_POLL = 0.05  # seconds between two looks at the outbox's newest seq (the pending count the row shows)


class Presence:
    """`refresh(...)` once per loop turn; `changed()` when something shown moved; `connected()` on CONNACK."""

    def __init__(
        self,
        store: Store,
        settings: AgentSettings,
        publisher: Publisher,
        guard: StoreGuard,
        clock: Clock,
        notifier: SystemdNotifier,
        *,
        previous: SyncStatus | None = None,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.store, self.s, self.publisher, self.guard = store, settings, publisher, guard
        self.clock, self.notifier = clock, notifier
        self.topics = DeviceTopics(settings.venue, settings.device)
        self.last = previous  # the last row written (or found at start)
        self._health: dict[str, Any] = {}
        self._dirty = True
        self._status_due = Deadline(monotonic)  # the next row write when something changed
        self._heartbeat_due = Deadline(monotonic)  # the next row write in any case
        self._publish_due = Deadline(monotonic)  # the next periodic presence
        self._outbox_due = Deadline(monotonic)
        self._published_trouble = ""
        self._line = ""
        self._outbox_seen = -1

    def changed(self) -> None:
        self._dirty = True

    def connected(self) -> None:
        """A new session: presence goes out again at the next refresh."""
        self._dirty = True
        self._publish_due.clear()

    def watch_outbox(self) -> None:
        """New events from the UI change the pending count the status row shows, online or not."""
        if not self._outbox_due.due():
            return
        self._outbox_due.after(OUTBOX_POLL)

        def read() -> int:
            with self.store.read() as conn:
                return outbox_top(conn)

        top = self.guard.attempt("outbox_top", read, writes=False)
        if top is not None and top != self._outbox_seen:
            self._outbox_seen = top
            self._dirty = True

    def refresh(self, online: bool, last_ack_at: datetime | None, text: str, *, force: bool = False) -> None:
        due = (self._dirty and self._status_due.due()) or self._heartbeat_due.due()
        trouble = self.guard.summary()
        if not (force or due or trouble != self._published_trouble):
            return
        now = self.clock()
        written_now = False
        if force or due:
            # The row never carries the trouble: the write that stores it is the one that ends it.
            written = self.guard.attempt("status", lambda: self._write(online, last_ack_at, text, now))
            if written is not None:
                self.last, self._health = written
                written_now = True
                self._status_due.after(self.s.status_interval)
                self._heartbeat_due.after(self.s.status_heartbeat)
                self._dirty = False
        trouble = self.guard.summary()
        line = f"{text}; {self._queues()}" + (f"; {trouble}" if trouble else "")
        if line != self._line:
            self.notifier.status(line[:200])
            self._line = line
        # After a fresh row (at most once per publish interval), or at once when the store's trouble changed.
        publish_due = written_now and (force or self._publish_due.due())
        if online and (publish_due or trouble != self._published_trouble):
            self._publish(now, trouble)
            self._publish_due.after(self.s.status_publish_interval)
            self._published_trouble = trouble

    def _queues(self) -> str:
        """What waits to be sent and what central refused: "online, pending 0" alone would hide stuck events."""
        s = self.last
        return f"pending {s.pending if s else 0}; dead letters {s.dead_letters if s else 0}"

    def _write(
        self, online: bool, last_ack_at: datetime | None, text: str, now: datetime
    ) -> tuple[SyncStatus, dict[str, Any]]:
        with self.store.write() as conn:
            data_at_text = repo.get_state(conn, DATA_AT)
            data_at = datetime.fromisoformat(data_at_text) if data_at_text else None
            status = repo.write_status(
                conn, online=online, last_ack_at=last_ack_at, data_at=data_at, text=text, now=now
            )
            health = repo.device_health(conn) if online else {}
            wipe = pending_wipe(conn)
            if online and wipe is not None:  # central's fleet view shows the device waits for a technician
                health["wipe_requested"] = wipe.command_id
        return status, health

    def _publish(self, now: datetime, trouble: str) -> None:
        s = self.last
        msg = m.DeviceStatus(
            v=1,
            device_id=self.s.device,
            online=True,
            at=iso(now),
            pending=s.pending if s else 0,
            oldest_pending_age_s=s.oldest_pending_age_s(now) if s else None,
            last_ack_at=iso(s.last_ack_at) if s and s.last_ack_at else None,
            dead_letters=s.dead_letters if s else 0,
            data_age_s=s.data_age_s(now) if s else None,
            catalog_version=s.catalog_version if s else "",
            health={**self._health, **self.guard.health()},
        )
        self.publisher.publish(self.topics.status, m.dumps(msg), qos=1, retain=True)

    def offline_will(self) -> bytes:
        """The presence that says this device is gone (the last will, and the clean stop's last word)."""
        return m.dumps(m.DeviceStatus(v=1, device_id=self.s.device, online=False, at=iso(self.clock())))
