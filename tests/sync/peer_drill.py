"""The peer drill: doors writing check-ins while their agents, the broker and central are killed -9 at random; then
every door must hold every other door's admissions (none missing), and central every event once, each under the
door that wrote it (forged peer admissions and hijacked event ids from an intruder are rejected).

Used by `tests/sync/test_peer_drill.py` (short, in the suite) and `bench/bench_drill.py` (longer, figures).
Agents run as `kiosk-sync` processes (real kill -9), central as `kiosk-central`, the broker is mosquitto.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, StoreError
from kiosk.domain.outbox import EventKind
from kiosk.domain.peer_admissions import peer_id
from kiosk.services.store_retry import BusyMeter, retry_store
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db
from sync_agent.signing import Signer
from sync_agent.status import inbound_counts
from sync_agent.topics import DeviceTopics
from tests.fixtures.broker import MosquittoBroker
from tests.sync.conftest import VENUE, Keys, Proc, central_cmd, central_ids, open_device_store, queue_events, sync_cmd
from tests.sync.door_keys import trust_test_doors

FORGERY_REASONS = ("unsigned", "unknown_key", "unknown_device", "bad_signature")


def hijack_batch(thief: str, ids: list[str]) -> bytes:
    """`thief`'s tx batch claiming another door's event ids: a ticket and gate that door never scanned."""
    events = [
        {"seq": i + 1, "event_id": eid, "kind": "checkin", "occurred_at": "2026-11-28T18:30:00.000000Z",
         "payload": {"v": 1, "scan_id": eid, "device_id": thief, "gate": "side", "verdict": "valid",
                     "ticket_id": 4242, "performance_id": 12, "movement": "entry",
                     "scanned_at": "2026-11-28T18:30:00.000000Z"}}
        for i, eid in enumerate(ids)
    ]  # fmt: skip
    return json.dumps({"v": 1, "batch_id": uuid.uuid4().hex, "device_id": thief, "events": events}).encode()


@dataclass
class DrillReport:
    kills: Counter[str] = field(default_factory=Counter)
    events: int = 0
    central_events: int = 0
    lost: int = 0  # events in a door's outbox that central does not hold
    duplicated: int = 0  # events central holds more than once
    missing: dict[str, int] = field(default_factory=dict)  # per door: other doors' admissions it does not hold
    seconds_to_converge: float = 0.0
    store_busy_retries: int = 0  # the doors' writers (standing in for their UIs) found their store busy
    writes_given_up: int = 0  # writes still busy after every retry (those scans were never written)
    forgeries_sent: int = 0
    forgeries_rejected: int = 0  # counted by the doors (unsigned, unknown key or device, bad signature)
    forgeries_accepted: int = 0  # forged admissions a door holds (must be 0)
    hijacks_sent: int = 0  # another door's event ids (already at central) replayed on a door's tx, made-up content
    hijacks_rejected: int = 0  # rejected by central as id_taken (conflicts listed by `kiosk-central incidents`)
    hijacks_accepted: int = 0  # events central holds under another device than the door that wrote them (must be 0)

    def lines(self) -> list[str]:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items()))
        missing = ", ".join(f"{d} {n}" for d, n in sorted(self.missing.items()))
        return [
            f"kills by target: {kills or 'none'}",
            f"events: {self.events} written, {self.central_events} at central; lost {self.lost}, "
            f"duplicated {self.duplicated}; doors' stores busy: {self.store_busy_retries} retries, "
            f"{self.writes_given_up} writes given up",
            f"missing peer admissions per door: {missing}",
            f"forged peer admissions: {self.forgeries_sent} sent, {self.forgeries_rejected} rejections counted, "
            f"{self.forgeries_accepted} held",
            f"hijacked event ids: {self.hijacks_sent} sent, {self.hijacks_rejected} rejected by central (id_taken), "
            f"{self.hijacks_accepted} accepted",
            f"converged {self.seconds_to_converge:.1f} s after the last kill",
        ]


class PeerDrill:
    def __init__(self, folder: Path, broker: MosquittoBroker, keys: Keys, doors: tuple[str, ...], seed: int) -> None:
        self.folder, self.broker, self.keys, self.doors = folder, broker, keys, doors
        self.rng = random.Random(seed)
        self.stores: dict[str, Store] = {}
        for d in doors:
            store = open_device_store(folder / f"{d}.sqlite")
            trust_test_doors(store, doors)
            self.stores[d] = store
        self.central_db = str(folder / "central.sqlite")
        self.agents: dict[str, Proc | None] = dict.fromkeys(doors)
        self.central: Proc | None = None
        self.report = DrillReport()
        self._stop = threading.Event()
        self._n = 0
        self._hijacked: set[str] = set()
        self._busy = BusyMeter()

    # ---- processes --------------------------------------------------------------------------------------------

    def start_agent(self, door: str) -> None:
        self._n += 1
        db = self.folder / f"{door}.sqlite"
        cmd = sync_cmd(db, self.broker, door, self.keys, "--ack-timeout", "2", "--log-level", "WARNING")
        self.agents[door] = Proc(cmd, self.folder / f"{door}-{self._n}.log")

    def kill_agent(self, door: str) -> None:
        proc = self.agents[door]
        if proc is not None:
            proc.kill9()
            proc.close()
            self.agents[door] = None
            self.report.kills[door] += 1

    def start_central(self) -> None:
        self.central = Proc(central_cmd(self.central_db, self.broker, self.keys), self.folder / "central.log")

    def kill_central(self) -> None:
        if self.central is not None:
            self.central.kill9()
            self.central.close()
            self.central = None
            self.report.kills["central"] += 1

    def close(self) -> None:
        self._stop.set()
        for proc in [*self.agents.values(), self.central]:
            if proc is not None:
                proc.close()
        for store in self.stores.values():
            store.close()

    # ---- the drill --------------------------------------------------------------------------------------------

    def _writer(self, door: str, base: int) -> None:
        i = 0
        while not self._stop.is_set():
            n = self.rng.randint(1, 8)
            try:  # as the door's UI does (kiosk.services.store_retry): a busy store delays a scan, never ends the door
                retry_store(partial(queue_events, self.stores[door], n, door, start_ticket=base + i), meter=self._busy)
            except StoreError:
                self.report.writes_given_up += 1
                continue
            i += n
            self._stop.wait(self.rng.uniform(0.02, 0.15))

    def run(self, seconds: float, late_door: str | None = None) -> DrillReport:
        """Write and kill for `seconds`; `late_door` connects for the first time halfway through."""
        self.start_central()
        for d in self.doors:
            if d != late_door:
                self.start_agent(d)
        writers = [
            threading.Thread(target=self._writer, args=(d, 1_000_000 * (k + 1)), daemon=True)
            for k, d in enumerate(self.doors)
        ]
        for w in writers:
            w.start()
        end = time.monotonic() + seconds
        half = time.monotonic() + seconds / 2
        while time.monotonic() < end:
            if late_door and self.agents[late_door] is None and time.monotonic() >= half:
                self.start_agent(late_door)
            time.sleep(self.rng.uniform(0.5, 2.0))  # the drill's pace, not a synchronisation
            self._forge()
            self._hijack()
            self._one_kill(late_door if time.monotonic() < half else None)
        self._stop.set()
        for w in writers:
            w.join(10)
        if not self.broker.running:
            self.broker.start()
        for d in self.doors:
            if self.agents[d] is None:
                self.start_agent(d)
        return self.report

    def _one_kill(self, not_yet: str | None) -> None:
        pick = self.rng.random()
        if 0.3 <= pick < 0.45:
            self.kill_central()
            time.sleep(self.rng.uniform(0.1, 1.0))
            self.start_central()
            return
        if pick < 0.3:
            if self.broker.running:
                self.broker.kill()
                self.report.kills["broker"] += 1
            time.sleep(self.rng.uniform(0.1, 1.0))
            self.broker.start()
            return
        door = self.rng.choice([d for d in self.doors if d != not_yet])
        self.kill_agent(door)
        time.sleep(self.rng.uniform(0.05, 0.8))
        self.start_agent(door)

    def _forge(self) -> None:
        """An intruder on the venue LAN publishes an admission under a door's topic: unsigned or self-signed."""
        victim = self.rng.choice(self.doors)
        body = {"v": 1, "type": "peer_admissions", "device_id": victim, "top": 1,
                "admissions": [{"v": 1, "scan_id": f"forged-{self.report.forgeries_sent}", "ticket_id": 1_000_000,
                                "movement": "entry", "device_id": victim, "gate": "main",
                                "scanned_at": "2026-11-28T18:00:00Z", "pseq": 1}]}  # fmt: skip
        payload = body if self.rng.random() < 0.5 else Signer(Ed25519PrivateKey.generate()).envelope(body)
        if self._intrude(DeviceTopics(VENUE, victim).admission, json.dumps(payload).encode()):
            self.report.forgeries_sent += 1

    def _hijack(self) -> None:
        """A door's account replays another door's event ids, which central already holds, as its own check-ins
        with made-up content (issue 11 #1): central must reject each (id_taken), never store or ack it as known."""
        thief, victim = self.rng.sample(self.doors, 2)
        with self.stores[victim].read() as conn:
            o = t.outbox.c
            q = select(o.event_id).where(o.kind == EventKind.CHECKIN, o.synced_at.is_not(None)).limit(200)
            synced = list(conn.execute(q).scalars())
        if not synced:
            return
        ids = self.rng.sample(synced, min(3, len(synced)))
        if self._intrude(DeviceTopics(VENUE, thief).tx, hijack_batch(thief, ids)):
            self.report.hijacks_sent += len(ids)
            self._hijacked.update(ids)

    def _intrude(self, topic: str, payload: bytes) -> bool:
        """Publish as an intruder (QoS 1, confirmed by the broker); False when the broker is down meanwhile."""
        if not self.broker.running:
            return False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder", protocol=mqtt.MQTTv5)
        try:
            client.connect(self.broker.host, self.broker.port)
            client.loop_start()
            info = client.publish(topic, payload, qos=1)
            info.wait_for_publish(2)
            return info.is_published()
        except (OSError, RuntimeError, ValueError):
            return False  # the broker went down meanwhile: no intrusion this round
        finally:
            client.disconnect()
            client.loop_stop()

    def hijack_figures(self, engine: Engine) -> tuple[int, int]:
        """(hijacked ids rejected by central as id_taken, events central holds under another device than their
        writer)."""
        with engine.connect() as conn:
            c = ct.conflicts.c
            q = select(c.event_id).where(c.reason == "id_taken")
            rejected = sum(1 for eid in conn.execute(q).scalars() if eid in self._hijacked)
            e = ct.events.c
            holders = {r.event_id: r.device_id for r in conn.execute(select(e.event_id, e.device_id))}
        accepted = 0
        for door, store in self.stores.items():
            with store.read() as conn:
                ids = conn.execute(select(t.outbox.c.event_id)).scalars()
                accepted += sum(1 for eid in ids if holders.get(eid, door) != door)
        return rejected, accepted

    def rejections(self) -> tuple[int, int]:
        """(forgeries rejected, forged admissions held) over all doors."""
        rejected = accepted = 0
        for store in self.stores.values():
            with store.read() as conn:
                counts = inbound_counts(conn)
                q = select(t.checkins.c.scan_id).where(t.checkins.c.scan_id.like("forged-%"))
                accepted += len(conn.execute(q).all())
            rejected += sum(counts.get(("peer_admission", r), 0) for r in FORGERY_REASONS)
        return rejected, accepted

    # ---- figures ----------------------------------------------------------------------------------------------

    def own_admissions(self, door: str) -> set[str]:
        with self.stores[door].read() as conn:
            q = select(t.outbox.c.event_id).where(t.outbox.c.kind == EventKind.CHECKIN)
            return {peer_id(e) for e in conn.execute(q).scalars()}

    def held(self, door: str, other: str) -> set[str]:
        with self.stores[door].read() as conn:
            c = t.checkins.c
            return set(conn.execute(select(c.scan_id).where(c.device_id == other, c.source == "peer")).scalars())

    def missing(self) -> dict[str, int]:
        own = {d: self.own_admissions(d) for d in self.doors}
        return {d: sum(len(own[o] - self.held(d, o)) for o in self.doors if o != d) for d in self.doors}

    def outbox_events(self) -> set[str]:
        ids: set[str] = set()
        for store in self.stores.values():
            with store.read() as conn:
                ids |= set(conn.execute(select(t.outbox.c.event_id)).scalars())
        return ids

    def settle(self, timeout: float) -> DrillReport:
        """Wait (bounded) until no door misses anything and central holds every event, then count."""
        engine = open_central_db(self.central_db)
        events = self.outbox_events()
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            at_central = central_ids(engine)
            if not any(self.missing().values()) and set(at_central) >= events:
                break
            time.sleep(0.5)
        self.report.seconds_to_converge = time.monotonic() - start
        at_central = central_ids(engine)
        self.report.events = len(events)
        self.report.central_events = len(set(at_central))
        self.report.lost = len(events - set(at_central))
        self.report.duplicated = len(at_central) - len(set(at_central))
        self.report.missing = self.missing()
        self.report.forgeries_rejected, self.report.forgeries_accepted = self.rejections()
        self.report.hijacks_rejected, self.report.hijacks_accepted = self.hijack_figures(engine)
        self.report.store_busy_retries = self._busy.view().retries
        engine.dispose()
        return self.report
