"""`kiosk-sync`'s engine: the MQTT session and the loop that turns the agent's parts.

The parts, each testable without a broker: `OutboundDrain` (outbox → central in acked batches, peer admissions,
resync requests), `InboundAppliers` (acks and central's/peers' messages, kept while the store is busy),
`Presence` (status row, systemd STATUS, retained presence), `Pruner` (long-synced outbox rows) and
`CentralTime`; every store access goes through one `StoreGuard`, so a busy store delays work but never stops the
loop. One thread does everything (paho's `loop()`, the parts, the watchdog ping), so a stuck step stops the
systemd watchdog pings and systemd restarts the agent. Delivery is at-least-once; central dedupes on event id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware_config.wipe_request import pending_wipe
from kiosk.adapters.sdnotify import SystemdNotifier, watchdog_interval
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.sync_repository import BriefStore, get_state, read_status
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.appliers import InboundAppliers
from sync_agent.backoff import Backoff
from sync_agent.central_time import CentralTime
from sync_agent.drain import PEER_SEQ, OutboundDrain
from sync_agent.guard import StoreGuard
from sync_agent.inbound import CommandHandler, InboundHandler, SectionApplier
from sync_agent.mqtt import make_client, session_properties
from sync_agent.presence import Presence
from sync_agent.prune import Pruner
from sync_agent.settings import AgentCounters, AgentSettings
from sync_agent.signing import Verifier
from sync_agent.topics import DeviceTopics

__all__ = ["PEER_SEQ", "AgentCounters", "AgentSettings", "SyncAgent"]

log = logging.getLogger("kiosk.sync")
CONNECT_TIMEOUT = 10.0  # seconds to wait for CONNACK before trying again
LOOP_ERROR_BACKOFF_CAP_S = 30.0  # a part failing on every turn is retried at most this often


class SyncAgent:
    def __init__(
        self,
        store: Store,
        settings: AgentSettings,
        verifier: Verifier,
        *,
        clock: Clock = system_clock,
        notifier: SystemdNotifier | None = None,
        catalog_sections: Mapping[str, SectionApplier] | None = None,
        commands: Mapping[str, CommandHandler] | None = None,
        device_key: Ed25519PrivateKey | None = None,
    ) -> None:
        # Writes wait briefly for another writer's lock, then are retried by the guard with backoff.
        self.store = BriefStore(store, settings.store_wait)
        self.s = settings
        self.topics = DeviceTopics(settings.venue, settings.device)
        self.clock = clock
        self.notifier = notifier or SystemdNotifier()
        self.counters = AgentCounters()
        self.online = False
        self.subscribed = False  # this connection's SUBACK arrived (refused topics are logged)
        self._subscribe_mid: int | None = None
        self._backoff = Backoff(settings.backoff_base, settings.backoff_cap)
        self._next_connect = 0.0
        self._ever_connected = False
        with self.store.read() as conn:
            peer_seq = int(get_state(conn, PEER_SEQ, "0"))
            previous = read_status(conn)
            wipe = pending_wipe(conn)
        self.last_loop_error = ""
        self.guard = StoreGuard(clock, base=min(0.1, settings.store_retry_cap), cap=settings.store_retry_cap)
        self.client = self._make_client()
        self.central_time = CentralTime(settings.state_dir, settings.central_time_interval)
        self.drain = OutboundDrain(
            self.store,
            settings,
            self.client,
            self.guard,
            self.counters,
            clock,
            peer_seq=peer_seq,
            device_key=device_key,  # signs this door's peer admissions (None: they are not shared)
            last_ack_at=previous.last_ack_at if previous else None,
        )
        self.inbound = InboundHandler(
            self.store,
            self.topics,
            verifier,
            clock,
            self.drain.want_resync,
            catalog_sections,
            commands,
            on_central_time=self.central_time.saw,
            central_now=self.central_time.now,
            on_peer_gap=self.drain.peers.want,
            on_peer_request=self.drain.peers.serve,
        )
        self.inbound.commands.wipe_request = wipe
        self.appliers = InboundAppliers(
            self.store, self.topics, self.inbound, self.drain, self.guard, clock, on_central_time=self.central_time.saw
        )
        self.presence = Presence(self.store, settings, self.client, self.guard, clock, self.notifier, previous=previous)
        self.pruner = Pruner(
            self.store,
            self.guard,
            clock,
            retention=settings.outbox_retention,
            interval=settings.prune_interval,
            shared_up_to=lambda: self.drain.peer_seq,
        )

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
        self.drain.reset()
        self.presence.connected()
        log.info("connected to the broker as %s", self.s.device)

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object = None) -> None:
        if self.online:
            log.warning("disconnected from the broker: %s", reason)
        self.online = False
        self.subscribed = False
        self.presence.changed()
        self._next_connect = time.monotonic() + self._backoff.next()

    def _on_subscribe(self, _c: mqtt.Client, _u: object, mid: int, reasons: list[Any], _p: object = None) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:  # e.g. an ACL that does not list this device: it would never hear of acks or new data
            log.error("the broker refused %d of the agent's subscriptions: %s", len(refused), ", ".join(refused))
        self.subscribed = True

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        # Returns whatever happens: paho acknowledges a QoS 1 message only when this returns, and re-raises out of
        # `loop()` what it raises; the message would kill the agent again after every restart (the broker keeps it
        # for the persistent session). `receive` counts what it cannot handle; this guards the rest.
        try:
            self.appliers.receive(msg.topic, bytes(msg.payload))
        except Exception:
            log.exception("an inbound message could not be handled")

    # ---- status -------------------------------------------------------------------------------------------------

    def status_text(self) -> str:
        state = "online" if self.online else "offline"
        c = self.counters
        text = f"{state}; sent {c.events_sent}, acked {c.acked_events}, in flight {self.drain.in_flight}"
        if c.loop_errors:
            text += f"; {c.loop_errors} loop errors, last {self.last_loop_error}"
        if self.inbound.commands.wipe_request is not None:  # central asked; only a technician at the device wipes
            text += "; WIPE REQUESTED: confirm with kiosk-provision wipe"
        return text

    def _refresh_status(self, force: bool = False) -> None:
        if self.drain.changed or self.appliers.changed:
            self.drain.changed = self.appliers.changed = False
            self.presence.changed()
        self.counters.pruned = self.pruner.pruned
        self.counters.store_busy = self.guard.busy_failures
        self.presence.refresh(self.online, self.drain.last_ack_at, self.status_text(), force=force)

    # ---- main loop ----------------------------------------------------------------------------------------------

    def step(self) -> None:
        """One turn of the loop: connect if due, network I/O and callbacks, then each part's turn."""
        if not self.online and time.monotonic() >= self._next_connect and not self.client.is_connected():
            self._try_connect()
        rc = self.client.loop(timeout=0.02)
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) and self.online:
            self.online = self.subscribed = False
            self.presence.changed()
        self.appliers.retry()
        self.drain.pump(self.online)
        self.pruner.tick()
        self.presence.watch_outbox()
        self._refresh_status()
        self.central_time.tick()

    def run(self, stop: threading.Event) -> None:
        interval = watchdog_interval()
        self._refresh_status(force=True)
        self.notifier.ready(self.status_text())
        last_ping, failures_in_a_row = 0.0, 0
        while not stop.is_set():
            try:
                self.step()
                failures_in_a_row = 0
            except Exception as exc:  # a bug in one part must not stop the others: count it, back off, go on
                failures_in_a_row += 1
                self.counters.loop_errors += 1
                self.last_loop_error = f"{type(exc).__name__}: {exc}"[:160]
                if failures_in_a_row == 1 or failures_in_a_row % 20 == 0:  # the journal gets it once, not per turn
                    log.exception("agent loop turn failed (%d in a row)", failures_in_a_row)
                stop.wait(min(LOOP_ERROR_BACKOFF_CAP_S, 0.5 * 2 ** min(failures_in_a_row - 1, 6)))
            if interval is not None and time.monotonic() - last_ping >= interval:
                self.notifier.watchdog()
                last_ping = time.monotonic()
        self.shutdown()

    def shutdown(self) -> None:
        self.notifier.stopping()
        if self.online:
            info = self.client.publish(self.topics.status, self.presence.offline_will(), qos=1, retain=True)
            deadline = time.monotonic() + 2.0
            while not info.is_published() and time.monotonic() < deadline and self.client.is_connected():
                self.client.loop(timeout=0.05)
            self.client.disconnect()
            self.client.loop(timeout=0.05)
        self.online = False
        self.guard.retry_now()  # one last try of whatever waits for a busy store
        self.drain.apply_acks()
        self._refresh_status(force=True)
        self.central_time.tick(force=True)
        log.info("sync agent stopped: %s", self.status_text())
