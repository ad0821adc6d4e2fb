"""`kiosk-sync`'s engine: outbox → central in sequence-ordered batches, marked synced only on central's ack.

One thread does everything (paho's `loop()`, the drain, inbound applies, the status row, the watchdog ping), so
a stuck step stops the systemd watchdog pings and systemd restarts the agent. Delivery is at-least-once: a batch
not acked within `ack_timeout` is sent again from the oldest pending event, and central dedupes on event id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Connection, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from firmware_config.clock import record_central_time
from kiosk.adapters.sdnotify import SystemdNotifier, watchdog_interval
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, StoreError
from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.domain.timeutil import iso, parse_instant
from sync_agent import messages as m
from sync_agent.backoff import Backoff
from sync_agent.inbound import DATA_AT, CommandHandler, InboundHandler, SectionApplier
from sync_agent.mqtt import BrokerSettings, make_client, session_properties
from sync_agent.outbound import new_admissions, next_batch, outbox_top
from sync_agent.prune import DEFAULT_RETENTION, PRUNE_BATCH, prune_outbox
from sync_agent.signing import SignatureError, Verifier
from sync_agent.status import count_inbound, device_health, get_state, read_status, set_state, write_status
from sync_agent.topics import DeviceTopics

log = logging.getLogger("kiosk.sync")
PEER_SEQ = "peer_published_seq"
CONNECT_TIMEOUT = 10.0  # seconds to wait for CONNACK before trying again
IDLE_POLL = 0.05  # seconds between outbox polls when there is nothing to send
PRUNE_PAUSE = 0.2  # seconds between two full pruning batches (the UI's writes get the lock in between)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AgentSettings:
    venue: str
    device: str
    broker: BrokerSettings
    batch_size: int = 500
    window: int = 4  # batches in flight before waiting for acks
    ack_timeout: float = 10.0
    status_interval: float = 1.0  # at most one status-row write per interval when something changed
    status_heartbeat: float = 15.0  # and one at least this often (updated_at tells the UI the agent is alive)
    status_publish_interval: float = 10.0
    resync_interval: float = 5.0
    backoff_base: float = 0.2
    backoff_cap: float = 30.0
    outbox_retention: timedelta = DEFAULT_RETENTION  # synced outbox rows older than this are deleted
    prune_interval: float = 300.0  # seconds between pruning rounds once nothing old is left
    # Where firmware_config keeps the last time seen from central (the self-test's clock check); None: not kept.
    state_dir: Path | None = None
    central_time_interval: float = 60.0  # at most one write (it fsyncs) of central's time per interval


@dataclass
class _InFlight:
    event_ids: list[str]
    last_seq: int
    sent_at: float


@dataclass
class AgentCounters:
    batches_sent: int = 0
    events_sent: int = 0
    resends: int = 0
    acks: int = 0
    acked_events: int = 0
    dead_letters: int = 0
    connects: int = 0
    peer_published: int = 0
    pruned: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class SyncAgent:
    def __init__(
        self,
        store: Store,
        settings: AgentSettings,
        verifier: Verifier,
        *,
        clock: Callable[[], datetime] = utc_now,
        notifier: SystemdNotifier | None = None,
        catalog_sections: Mapping[str, SectionApplier] | None = None,
        commands: Mapping[str, CommandHandler] | None = None,
    ) -> None:
        self.store = store
        self.s = settings
        self.topics = DeviceTopics(settings.venue, settings.device)
        self.clock = clock
        self.notifier = notifier or SystemdNotifier()
        self.counters = AgentCounters()
        self.online = False
        self.subscribed = False  # this connection's SUBACK arrived (refused topics are logged)
        self._subscribe_mid: int | None = None
        self.inbound = InboundHandler(
            store,
            self.topics,
            verifier,
            clock,
            self._resync_needed,
            catalog_sections,
            commands,
            on_central_time=self._saw_central_time,
        )
        self._outbox = SqlOutboxStore()
        self._backoff = Backoff(settings.backoff_base, settings.backoff_cap)
        self._next_connect = 0.0
        self._ever_connected = False
        self._inflight: OrderedDict[str, _InFlight] = OrderedDict()
        self._cursor = 0  # highest seq sent since the last reset
        self._status_due = 0.0
        self._status_heartbeat_due = 0.0
        self._outbox_seen = -1
        self._outbox_checked = 0.0
        self._status_published = 0.0
        self._status_dirty = True
        self._resync_wanted: tuple[str, int, int] | None = None
        self._resync_sent = 0.0
        self._outbox_top = -1
        self._idle_until = 0.0
        self._prune_due = 0.0
        self._central_time: datetime | None = None  # newest verified time from central, not written yet
        self._central_time_written: datetime | None = None
        self._central_time_due = 0.0  # the first one is written at once, then at most once per interval
        with store.read() as conn:
            self._peer_seq = int(get_state(conn, PEER_SEQ, "0"))
            previous = read_status(conn)
        self._last_ack_at = previous.last_ack_at if previous else None  # survives restarts
        self.client = self._make_client()

    # ---- connection -----------------------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = make_client(self.s.device, self.s.broker)
        will = m.DeviceStatus(v=1, device_id=self.s.device, online=False, at=iso(self.clock()))
        client.will_set(self.topics.status, m.dumps(will), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def _try_connect(self) -> None:
        b = self.s.broker
        # Until CONNACK (or a failure) arrives, do not start another attempt: a TLS handshake takes a while.
        self._next_connect = time.monotonic() + CONNECT_TIMEOUT
        try:
            if self._ever_connected:
                self.client.reconnect()
            else:
                self.client.connect(b.host, b.port, b.keepalive, clean_start=False, properties=session_properties())
                self._ever_connected = True
        except (OSError, mqtt.WebsocketConnectionError) as exc:
            delay = self._backoff.next()
            self._next_connect = time.monotonic() + delay
            log.info("broker %s:%s unreachable (%s); next try in %.2fs", b.host, b.port, exc, delay)

    def _on_connect(self, client: mqtt.Client, _u: object, flags: object, reason: object, _p: object = None) -> None:
        if getattr(reason, "is_failure", False):
            log.error("broker refused the connection: %s", reason)
            self._next_connect = time.monotonic() + self._backoff.next()
            return
        self.online = True
        self.counters.connects += 1
        self._backoff.reset()
        v = self.topics.venue_topics
        qos1 = SubscribeOptions(qos=1)
        topics = [self.topics.ack, self.topics.cmd, v.catalog, v.tickets_snapshot, v.tickets_delta, v.revocations]
        subs = [(topic, qos1) for topic in (*topics, v.admissions)]
        # No Local: the broker does not echo this door's own admissions back to it.
        subs.append((v.peer_admissions, SubscribeOptions(qos=1, noLocal=True)))
        self.subscribed = False
        self._subscribe_mid = client.subscribe(subs)[1]
        # Whatever was in flight on the old connection is sent again; central dedupes.
        self._reset_inflight()
        self._status_dirty = True
        self._status_published = 0.0
        log.info("connected to the broker as %s", self.s.device)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object = None) -> None:
        if self.online:
            log.warning("disconnected from the broker: %s", reason)
        self.online = False
        self.subscribed = False
        self._status_dirty = True
        self._next_connect = time.monotonic() + self._backoff.next()

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, reasons: list[Any], _p: object = None) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:  # e.g. an ACL that does not list this device: it would never hear of acks or new data
            log.error("the broker refused %d of the agent's subscriptions: %s", len(refused), ", ".join(refused))
        self.subscribed = True

    # ---- inbound --------------------------------------------------------------------------------------------

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.ack:
            self._handle_ack(bytes(msg.payload))
        else:
            self.inbound.handle(msg.topic, bytes(msg.payload))
            if self.inbound.data_changed:
                self.inbound.data_changed = False
                self._status_dirty = True

    def _handle_ack(self, payload: bytes) -> None:
        now = self.clock()
        try:
            ack = self.inbound.open_signed(payload, m.Ack)
            if ack.device_id != self.s.device:
                raise m.MessageError("wrong_device", ack.device_id)
        except (m.MessageError, SignatureError) as exc:
            log.warning("rejected an ack: %s", exc)
            with self.store.write() as conn:
                count_inbound(conn, "ack", exc.reason, now)
            return
        rejected = {r.event_id: r.reason for r in ack.rejected}
        with self.store.write() as conn:
            self._dead_letter(conn, rejected, now)
            self._outbox.mark_synced(conn, [*ack.acked, *rejected], now)
        if ack.at is not None:  # only here: the ack's signature and device were verified above
            try:
                self._saw_central_time(parse_instant(ack.at))
            except ValueError:
                log.warning("central's ack carries an unreadable time %r: not recorded", ack.at[:40])
        self._inflight.pop(ack.batch_id, None)
        self._idle_until = 0.0
        self._last_ack_at = now
        self.counters.acks += 1
        self.counters.acked_events += len(ack.acked)
        self.counters.dead_letters += len(rejected)
        self._status_dirty = True

    def _dead_letter(self, conn: Connection, rejected: dict[str, str], now: datetime) -> None:
        if not rejected:
            return
        rows = conn.execute(
            select(t.outbox).where(t.outbox.c.event_id.in_(list(rejected)), t.outbox.c.synced_at.is_(None))
        )
        values = [
            {
                "event_id": r.event_id,
                "seq": r.seq,
                "kind": r.kind,
                "payload": r.payload,
                "reason": rejected[r.event_id][:200],
                "rejected_at": now,
            }
            for r in rows
        ]
        if values:
            conn.execute(sqlite_insert(t.dead_letters).on_conflict_do_nothing(index_elements=["event_id"]), values)
            log.warning("central rejected %d events (first: %s)", len(values), values[0]["reason"])

    def _saw_central_time(self, at: datetime) -> None:
        """Remember a time carried by a verified message from central; `_record_central_time` writes it."""
        if self.s.state_dir is None or at.tzinfo is None:
            return
        newest = max((x for x in (self._central_time, self._central_time_written) if x is not None), default=None)
        if newest is None or at > newest:
            self._central_time = at

    def _record_central_time(self, force: bool = False) -> None:
        """Write central's newest time to the state directory, at most once per `central_time_interval`.

        `record_central_time` never moves the stored time backwards. A failed write (full disk) is logged and
        tried again at the next interval."""
        at, state_dir = self._central_time, self.s.state_dir
        if at is None or state_dir is None:
            return
        mono = time.monotonic()
        if not force and mono < self._central_time_due:
            return
        self._central_time_due = mono + self.s.central_time_interval
        try:
            record_central_time(state_dir, at)
        except OSError as exc:
            log.warning("could not record central's time in %s: %s", state_dir, exc)
            return
        self._central_time, self._central_time_written = None, at

    def _resync_needed(self, reason: str, snapshot: int, seq: int) -> None:
        self._resync_wanted = (reason, snapshot, seq)

    # ---- outbound -------------------------------------------------------------------------------------------

    def _reset_inflight(self) -> None:
        self._inflight.clear()
        self._cursor = 0
        self._idle_until = 0.0

    def _pump(self) -> None:
        if not self.online:
            return
        mono = time.monotonic()
        if self._inflight:
            oldest = next(iter(self._inflight.values()))
            if mono - oldest.sent_at > self.s.ack_timeout:
                log.info("no ack for %.1fs: sending the pending events again", self.s.ack_timeout)
                self.counters.resends += 1
                self._reset_inflight()
        if mono >= self._idle_until:
            while len(self._inflight) < self.s.window:
                if not self._send_batch(mono):
                    self._idle_until = mono + IDLE_POLL  # nothing new: look again shortly, not every turn
                    break
            self._share_admissions()
        self._send_resync(mono)

    def _send_batch(self, mono: float) -> bool:
        with self.store.read() as conn:
            batch = next_batch(conn, self.s.device, self._cursor, self.s.batch_size)
        if batch is None:
            return False
        self.client.publish(self.topics.tx, batch.body, qos=1)
        self._inflight[batch.batch_id] = _InFlight(batch.event_ids, batch.last_seq, mono)
        self._cursor = batch.last_seq
        self.counters.batches_sent += 1
        self.counters.events_sent += len(batch.event_ids)
        return True

    def _share_admissions(self) -> None:
        """Publish new local check-ins to the venue's other doors (independent of central's acks)."""
        with self.store.read() as conn:
            top = outbox_top(conn)
            if top == self._outbox_top and top <= self._peer_seq:
                return
            self._outbox_top = top
            admissions, read_up_to = new_admissions(conn, self.s.device, self._peer_seq)
        if admissions:
            msg = m.PeerAdmissions(v=1, device_id=self.s.device, admissions=admissions)
            self.client.publish(self.topics.admission, m.dumps(msg), qos=1)
            self.counters.peer_published += len(admissions)
        if read_up_to != self._peer_seq:
            self._peer_seq = read_up_to
            with self.store.write() as conn:
                set_state(conn, PEER_SEQ, str(read_up_to))

    def _send_resync(self, mono: float) -> None:
        if self._resync_wanted is None or mono - self._resync_sent < self.s.resync_interval:
            return
        reason, snapshot, seq = self._resync_wanted
        req = m.ResyncRequest(v=1, device_id=self.s.device, reason=reason, snapshot_id=snapshot, seq=seq)
        self.client.publish(self.topics.resync, m.dumps(req), qos=1)
        self._resync_sent = mono
        self._resync_wanted = None
        log.info("asked central for the ticket list again (%s at %d@%d)", reason, snapshot, seq)

    def _prune(self) -> None:
        """Delete one small batch of long-synced outbox rows when due (see `sync_agent.prune`), online or not."""
        mono = time.monotonic()
        if mono < self._prune_due:
            return
        with self.store.write() as conn:
            gone = prune_outbox(conn, synced_before=self.clock() - self.s.outbox_retention, shared_up_to=self._peer_seq)
        self.counters.pruned += gone
        # A full batch means more is waiting: go on after a short pause rather than hold the store's write lock.
        self._prune_due = mono + (PRUNE_PAUSE if gone >= PRUNE_BATCH else self.s.prune_interval)
        if gone:
            log.debug("pruned %d synced outbox rows (%d since start)", gone, self.counters.pruned)

    # ---- status -------------------------------------------------------------------------------------------------

    def status_text(self) -> str:
        state = "online" if self.online else "offline"
        c = self.counters
        return f"{state}; sent {c.events_sent}, acked {c.acked_events}, in flight {len(self._inflight)}"

    def _watch_outbox(self) -> None:
        """New events from the UI change the pending count the status row shows, online or not."""
        mono = time.monotonic()
        if mono - self._outbox_checked < IDLE_POLL:
            return
        self._outbox_checked = mono
        with self.store.read() as conn:
            top = outbox_top(conn)
        if top != self._outbox_seen:
            self._outbox_seen = top
            self._status_dirty = True

    def _write_status(self, force: bool = False) -> None:
        mono = time.monotonic()
        due = (self._status_dirty and mono >= self._status_due) or mono >= self._status_heartbeat_due
        if not force and not due:
            return
        now = self.clock()
        with self.store.write() as conn:
            data_at_text = get_state(conn, DATA_AT)
            data_at = datetime.fromisoformat(data_at_text) if data_at_text else None
            status = write_status(
                conn,
                online=self.online,
                last_ack_at=self._last_ack_at,
                data_at=data_at,
                text=self.status_text(),
                now=now,
            )
            health = device_health(conn) if self.online else {}
        self._status_due = mono + self.s.status_interval
        self._status_heartbeat_due = mono + self.s.status_heartbeat
        self._status_dirty = False
        self.notifier.status(f"{status.text}; pending {status.pending}")
        if self.online and (force or mono - self._status_published >= self.s.status_publish_interval):
            msg = m.DeviceStatus(
                v=1,
                device_id=self.s.device,
                online=True,
                at=iso(now),
                pending=status.pending,
                oldest_pending_age_s=status.oldest_pending_age_s(now),
                last_ack_at=iso(status.last_ack_at) if status.last_ack_at else None,
                dead_letters=status.dead_letters,
                data_age_s=status.data_age_s(now),
                catalog_version=status.catalog_version,
                health=health,
            )
            self.client.publish(self.topics.status, m.dumps(msg), qos=1, retain=True)
            self._status_published = mono

    # ---- main loop ----------------------------------------------------------------------------------------------

    def step(self) -> None:
        """One turn of the loop: connect if due, network I/O and callbacks, drain, status."""
        if not self.online and time.monotonic() >= self._next_connect and not self.client.is_connected():
            self._try_connect()
        rc = self.client.loop(timeout=0.02)
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) and self.online:
            self.online = self.subscribed = False
            self._status_dirty = True
        self._pump()
        self._prune()
        self._watch_outbox()
        self._write_status()
        self._record_central_time()

    def run(self, stop: threading.Event) -> None:
        interval = watchdog_interval()
        self._write_status(force=True)
        self.notifier.ready(self.status_text())
        last_ping = 0.0
        while not stop.is_set():
            try:
                self.step()
            except StoreError as exc:  # locked for long or a full disk: say so, keep the loop (and pings) alive
                log.error("device store: %s", exc)
                self.notifier.status(f"store error: {exc}"[:200])
                stop.wait(1.0)
            if interval is not None and time.monotonic() - last_ping >= interval:
                self.notifier.watchdog()
                last_ping = time.monotonic()
        self.shutdown()

    def shutdown(self) -> None:
        self.notifier.stopping()
        if self.online:
            offline = m.DeviceStatus(v=1, device_id=self.s.device, online=False, at=iso(self.clock()))
            info = self.client.publish(self.topics.status, m.dumps(offline), qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline and self.client.is_connected():
                self.client.loop(timeout=0.05)
            self.client.disconnect()
            self.client.loop(timeout=0.05)
        self.online = False
        self._write_status(force=True)
        self._record_central_time(force=True)
        log.info("sync agent stopped: %s", self.status_text())
