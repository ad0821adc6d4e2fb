"""`kiosk-central run`: MQTT ingest (shared subscription) → database commit → signed ack → venue fan-out.

The order is the protocol's guarantee: an ack is published only after the batch's transaction committed, so
a device that saw an ack can forget the events; anything central never committed is sent again by the device.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine, insert
from sqlalchemy.exc import DBAPIError

from kiosk.adapters.sdnotify import SystemdNotifier, watchdog_interval
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.central import tables as ct
from sync_agent.central.busy import (
    FIRST_WAIT_S,
    REJECT_WAIT_S,
    BusyRetry,
    Episode,
    brief_begin,
    is_db_busy,
    record_episode,
)
from sync_agent.central.ingest import IngestResult, ingest_batch, mark_ack_sent
from sync_agent.central.publish import Outgoing, admissions_message, current_snapshot_message, retained_messages
from sync_agent.central.resync import RESYNC_MIN_INTERVAL_S, ResyncCoalescer
from sync_agent.messages import TxBatch
from sync_agent.mqtt import BrokerSettings, make_client
from sync_agent.signing import Signer
from sync_agent.topics import CENTRAL_RESYNC, CENTRAL_TX, DeviceTopics, split_device_topic

log = logging.getLogger("kiosk.central")


class CentralService:
    def __init__(
        self,
        engine: Engine,
        broker: BrokerSettings,
        signer: Signer,
        client_id: str = "central-1",
        clock: Clock = system_clock,
        resync_interval_s: float = RESYNC_MIN_INTERVAL_S,
    ) -> None:
        self.engine = engine
        self.clock = clock  # every time central writes or sends; acks' `at` is what devices keep as central's time
        self.signer = signer
        self.broker = broker
        self.client = make_client(client_id, broker)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(1, 5)
        self.bad_messages: Counter[str] = Counter()
        self.batches_processed = 0
        self.connected = threading.Event()  # set once the broker granted the subscriptions (not at CONNACK)
        self._subscribe_mid: int | None = None
        self._ack_mids: dict[int, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self.client_id = client_id
        # A database busy past the network thread's short wait: its batches are held and retried in a worker.
        self.busy = BusyRetry(self._commit_tx, clock, self._record_busy)
        self.resyncs = ResyncCoalescer(self._publish_snapshot, resync_interval_s)

    # ---- MQTT callbacks (paho's network thread) -----------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if reason.is_failure:
            log.error("broker refused central: %s", reason)
            return
        self._subscribe_mid = client.subscribe([(CENTRAL_TX, 1), (CENTRAL_RESYNC, 1)])[1]
        try:
            for out in retained_messages(self.engine, self.signer):
                self.publish(out)
        except Exception:
            log.exception("could not re-publish the retained catalog/ticket lists")
        log.info("central connected to %s:%s", self.broker.host, self.broker.port)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, mid: int, reasons: list[Any], _p: Any = None) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [r for r in reasons if r.is_failure]
        if refused:
            log.error("broker refused central's subscriptions: %s", refused)
            return
        # Batches published before the SUBACK would go nowhere (clean session) and wait for the device's resend.
        self.connected.set()

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Never raises: on paho's network thread an exception would end central's intake for good.
        try:
            where = split_device_topic(msg.topic)
        except Exception:
            log.exception("central could not read a message's topic")
            return
        if where is None:
            return
        venue, device, leaf = where
        try:
            if leaf == "tx":
                self._handle_tx(venue, device, bytes(msg.payload))
            elif leaf == "resync":
                self._handle_resync(venue, device, bytes(msg.payload))
        except m.MessageError as exc:
            self._reject_message(venue, device, leaf, exc.reason, exc.detail)
        except Exception as exc:  # a database outage must not kill the loop; the device will resend
            if not isinstance(exc, DBAPIError):  # a message central cannot handle (a bug): counted, in memory only
                self.bad_messages[f"{leaf}:error"] += 1
            log.exception("central could not process %s", msg.topic)

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _r: Any = None, _p: Any = None) -> None:
        with self._lock:
            target = self._ack_mids.pop(mid, None)
        if target is not None:
            try:  # on paho's network thread: a locked database is waited for briefly, like a batch's first try
                with brief_begin(self.engine, FIRST_WAIT_S) as conn:
                    mark_ack_sent(conn, *target, self.clock())
            except Exception:
                log.exception("could not record ack delivery")

    # ---- handlers ---------------------------------------------------------------------------------------------

    def _handle_tx(self, venue: str, device: str, raw: bytes) -> None:
        # Size, then nesting, refused before parsing: a device's agent never makes a batch over half the bound.
        batch = m.parse(m.TxBatch, m.loads(raw, "tx"))
        if batch.device_id != device:
            raise m.MessageError("device_mismatch", f"topic {device} carries device_id {batch.device_id}")
        self._commit_or_hold(venue, device, batch)

    # ---- committing a batch (database busy: held and retried by `self.busy`, see busy.py) ------------------

    def _commit_or_hold(self, venue: str, device: str, batch: TxBatch) -> None:
        if self.busy.held():  # behind the held batches, so a device's batches stay in order
            self.busy.hold(venue, device, batch)
            return
        try:
            self._commit_tx(venue, device, batch, wait_s=FIRST_WAIT_S)
        except Exception as exc:
            if not is_db_busy(exc):
                raise
            log.warning("central database busy for batch %s of %s: held for retry", batch.batch_id, device)
            self.busy.hold(venue, device, batch)
            return
        self.busy.ok()

    def _commit_tx(self, venue: str, device: str, batch: TxBatch, wait_s: float | None = None) -> None:
        """Store the batch in one transaction, then (and only then) ack it and fan its admissions out."""
        with brief_begin(self.engine, wait_s) if wait_s is not None else self.engine.begin() as conn:
            result = ingest_batch(conn, venue, batch, self.clock())
        committed_at = self.clock()
        self.batches_processed += 1
        self._send_ack(venue, device, batch.batch_id, result, committed_at)
        if result.new_admissions:
            self.publish(admissions_message(self.signer, venue, result.new_admissions))
        if result.rejected:
            log.warning("rejected %d events from %s: %s", len(result.rejected), device, result.rejected[0].reason)

    def _record_busy(self, episode: Episode) -> None:
        with self.engine.begin() as conn:
            record_episode(conn, self.client_id, episode, self.clock())

    def _send_ack(self, venue: str, device: str, batch_id: str, result: IngestResult, at: datetime) -> None:
        ack = m.Ack(
            v=1,
            type="ack",
            device_id=device,
            batch_id=batch_id,
            acked=result.acked,
            rejected=result.rejected,
            at=iso(at),
        )
        payload = m.dumps(self.signer.envelope(ack.model_dump(mode="json")))
        with self._lock:
            info = self.client.publish(DeviceTopics(venue, device).ack, payload, qos=1)
            self._ack_mids[info.mid] = (device, batch_id)

    def _handle_resync(self, venue: str, device: str, raw: bytes) -> None:
        request = m.parse(m.ResyncRequest, m.loads(raw, "resync"))
        log.info("resync of the ticket list asked by %s (%s)", device, request.reason)
        self.resyncs.ask(venue)

    def _publish_snapshot(self, venue: str) -> None:
        try:
            out = current_snapshot_message(self.engine, self.signer, venue)
        except Exception:  # runs on the owed-publication timer too: never let it raise there
            log.exception("could not publish the ticket snapshot of %s", venue)
            return
        if out is not None:
            self.publish(out)

    def _reject_message(self, venue: str, device: str, leaf: str, reason: str, detail: str) -> None:
        self.bad_messages[f"{leaf}:{reason}"] += 1
        log.warning("rejected a %s message from %s/%s: %s %s", leaf, venue, device, reason, detail)
        try:  # the journal row only (counted above): a locked database must not stall the network thread
            with brief_begin(self.engine, REJECT_WAIT_S) as conn:
                conn.execute(
                    insert(ct.rejections).values(
                        venue=venue, device_id=device, event_id="-", reason=f"{leaf}:{reason}", at=iso(self.clock())
                    )
                )
        except Exception as exc:
            if not is_db_busy(exc):
                log.exception("could not record a rejected message")
            else:
                log.warning("rejected %s message from %s not journaled: database busy", leaf, device)

    # ---- running ----------------------------------------------------------------------------------------------

    def publish(self, out: Outgoing) -> mqtt.MQTTMessageInfo:
        topic, payload, retain = out
        return self.client.publish(topic, payload, qos=1, retain=retain)

    def start(self) -> None:
        self.client.connect_async(
            self.broker.host,
            self.broker.port,
            self.broker.keepalive,
            # No persistent session: a shared subscription would keep queueing a share of the devices' batches
            # for a dead instance. Devices resend whatever is not acked, so central needs no broker queue.
            clean_start=True,
        )
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.busy.stop()
        self.resyncs.stop()

    def run_until(self, stop: threading.Event) -> None:
        notifier = SystemdNotifier()
        self.start()
        notifier.ready("central: connecting")
        interval = watchdog_interval() or 5.0
        while not stop.wait(min(interval, 1.0)):
            notifier.watchdog()
            notifier.status(
                f"central: {'connected' if self.client.is_connected() else 'disconnected'}, "
                f"bad messages {sum(self.bad_messages.values())}, {self.clock():%H:%M:%S}"
                + (f", {busy}" if (busy := self.busy.summary()) else "")
            )
        notifier.stopping()
        self.stop()
