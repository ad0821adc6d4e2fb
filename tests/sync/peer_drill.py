"""The peer drill: doors writing check-ins while their agents and the broker are killed -9 at random, then every
door must hold every other door's admissions (none missing), and central every event once.

Used by `tests/sync/test_peer_drill.py` (short, in the suite) and `bench/bench_drill.py` (longer, figures).
Agents run as `kiosk-sync` processes (real kill -9), central as `kiosk-central`, the broker is mosquitto.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.domain.outbox import EventKind
from kiosk.domain.peer_admissions import peer_id
from sync_agent.central.ingest import open_central_db
from tests.fixtures.broker import MosquittoBroker
from tests.sync.conftest import Keys, Proc, central_cmd, central_ids, open_device_store, queue_events, sync_cmd
from tests.sync.door_keys import trust_test_doors


@dataclass
class DrillReport:
    kills: Counter[str] = field(default_factory=Counter)
    events: int = 0
    central_events: int = 0
    lost: int = 0  # events in a door's outbox that central does not hold
    duplicated: int = 0  # events central holds more than once
    missing: dict[str, int] = field(default_factory=dict)  # per door: other doors' admissions it does not hold
    seconds_to_converge: float = 0.0

    def lines(self) -> list[str]:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items()))
        missing = ", ".join(f"{d} {n}" for d, n in sorted(self.missing.items()))
        return [
            f"kills by target: {kills or 'none'}",
            f"events: {self.events} written, {self.central_events} at central; lost {self.lost}, "
            f"duplicated {self.duplicated}",
            f"missing peer admissions per door: {missing}",
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
            queue_events(self.stores[door], n, door, start_ticket=base + i)
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
        if self.rng.random() < 0.3:
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
        engine.dispose()
        return self.report
