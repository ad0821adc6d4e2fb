"""Sync figures: drain 10k queued events device → broker → central DB → ack → device marked (events/s), the
ratio to a raw paho QoS 1 publish loop on the same broker in the same run, and peer admission latency A → B.

    .venv/bin/python bench/bench_sync.py [--events 10000] [--runs 3] [--peer 30] [--prune 50000]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import open_store
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.peer_admissions import peer_id
from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.mqtt import BrokerSettings, session_properties
from sync_agent.signing import Signer, Verifier, load_or_create_private_key
from tests.conftest import DEMO_NOW as DEMO_NOW_FOR_BENCH
from tests.fixtures.broker import MosquittoBroker, mosquitto_binary
from tests.sync.conftest import pending, queue_events
from tests.sync.door_keys import door_key, trust_test_doors


def raw_publish_rate(broker: MosquittoBroker, n: int, size: int) -> float:
    """Events/s of a bare paho loop: n QoS 1 publishes of `size` bytes, until the last PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="raw-bench", protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    payload = b"x" * size
    t0 = time.perf_counter()
    infos = [client.publish("bench/raw", payload, qos=1) for _ in range(n)]
    for info in infos:
        info.wait_for_publish(30)
    elapsed = time.perf_counter() - t0
    client.disconnect()
    client.loop_stop()
    return n / elapsed


def wait_for_central(broker: MosquittoBroker, central_db: Path, timeout: float = 60.0) -> None:
    """Until central is subscribed: it has recorded a junk probe batch (a batch sent earlier would be lost)."""
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe", protocol=mqtt.MQTTv5)
    probe.connect(broker.host, broker.port)
    probe.loop_start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            probe.publish("kiosk/v1/lac/bench-probe/tx", b"probe", qos=1).wait_for_publish(5)
            try:
                db = sqlite3.connect(f"file:{central_db}?mode=ro", uri=True)  # never creates the file
                try:
                    if db.execute("SELECT count(*) FROM central_rejections").fetchone()[0]:
                        return
                finally:
                    db.close()
            except sqlite3.OperationalError:
                pass  # not created or not migrated yet
            time.sleep(0.1)  # polling interval
        raise RuntimeError("central did not subscribe")
    finally:
        probe.disconnect()
        probe.loop_stop()


def drain_rate(broker: MosquittoBroker, keys: Path, pub: Verifier, n: int, work: Path, run: int) -> float:
    central_db = work / f"central{run}.sqlite"
    exe = Path(sys.executable).parent / "kiosk-central"
    central = subprocess.Popen(
        [str(exe), "--db", str(central_db), "--broker", broker.url, "--key", str(keys), "--client-id", f"c{run}",
         "--log-level", "WARNING"]
    )  # fmt: skip
    store = open_store(work / f"dev{run}.sqlite", create=True)
    queue_events(store, n, f"door-{run}")
    wait_for_central(broker, central_db)
    agent = SyncAgent(store, AgentSettings("lac", f"door-{run}", BrokerSettings(broker.host, broker.port)), pub)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    t0 = time.perf_counter()
    thread.start()
    while pending(store):
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join()
    central.terminate()
    central.wait(10)
    store.close()
    return n / elapsed


def peer_latency(broker: MosquittoBroker, pub: Verifier, work: Path, count: int) -> list[float]:
    """Door A admits a ticket; time until door B's store holds the admission (central is not running)."""
    db_a, db_b = work / "peer_a.sqlite", work / "peer_b.sqlite"
    store_a = open_store(db_a, create=True)
    venue = build_demo_venue(DEMO_NOW_FOR_BENCH, count * 4, seed=5)
    install_demo_venue(store_a, venue, None, DEMO_NOW_FOR_BENCH)
    store_a.close()
    shutil.copy(db_a, db_b)
    store_a, store_b = open_store(db_a), open_store(db_b)
    agents, stop = [], threading.Event()
    for dev, store in (("peer-a", store_a), ("peer-b", store_b)):
        trust_test_doors(store, ("peer-a", "peer-b"))  # peer admissions are signed by the door's key
        settings = AgentSettings("lac", dev, BrokerSettings(broker.host, broker.port))
        agent = SyncAgent(store, settings, pub, device_key=door_key(dev))
        agents.append(threading.Thread(target=agent.run, args=(stop,)))
        agents[-1].start()
    time.sleep(1.0)
    clock = iter(DEMO_NOW_FOR_BENCH + timedelta(seconds=i) for i in range(10**6))
    scanning = scanning_service(store_a, "peer-a", clock=lambda: next(clock))
    valid = [code for code, verdict in venue.expected if verdict == "valid"][:count]
    lat = []
    for code in valid:
        result = scanning.scan(code, "main")
        t0 = time.perf_counter()
        while True:
            with store_b.read() as conn:
                q = select(t.checkins.c.scan_id).where(t.checkins.c.scan_id == peer_id(result.scan_id))
                row = conn.execute(q).first()
            if row is not None:
                break
            if time.perf_counter() - t0 > 5:
                raise RuntimeError("peer admission did not arrive within 5 s")
            time.sleep(0.001)
        lat.append((time.perf_counter() - t0) * 1000)
    stop.set()
    for th in agents:
        th.join()
    return lat


def persistence(binary: str, work: Path, n: int) -> None:
    """Acknowledged QoS 1 messages queued for an offline persistent subscriber, then kill -9: how many survive,
    with mosquitto's default autosave and with ours; and what the durable setting costs in publish rate."""
    for durable in (False, True):
        broker = MosquittoBroker(binary, work / f"persist-{durable}", durable=durable)
        broker.start()
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sub", protocol=mqtt.MQTTv5)
        sub.connect(broker.host, broker.port, clean_start=False, properties=session_properties(3600))
        sub.loop_start()
        sub.subscribe("q", qos=1)[1]
        time.sleep(0.3)
        sub.disconnect()
        sub.loop_stop()
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv5)
        pub.max_inflight_messages_set(100)
        pub.max_queued_messages_set(0)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        t0 = time.perf_counter()
        infos = [pub.publish("q", b"x" * 330, qos=1) for _ in range(n)]
        for info in infos:
            info.wait_for_publish(60)
        rate = n / (time.perf_counter() - t0)
        pub.disconnect()
        pub.loop_stop()
        time.sleep(0.1)
        broker.kill()
        broker.start()
        got: list[int] = []
        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sub", protocol=mqtt.MQTTv5)
        sub.on_message = lambda _c, _u, _m, got=got: got.append(1)
        sub.connect(broker.host, broker.port, clean_start=False, properties=session_properties(3600))
        sub.loop_start()
        time.sleep(2.0)
        sub.disconnect()
        sub.loop_stop()
        broker.kill()
        label = "autosave_on_changes, interval 1 (ours)" if durable else "default autosave_interval 1800"
        print(
            f"persistence {label}: {n} acked QoS1 messages queued for an offline subscriber, "
            f"after kill -9: {len(got)} delivered; publish rate into the queue {rate:,.0f} msg/s"
        )


def idle_cost(binary: str, work: Path, keys: Path, seconds: float = 10.0) -> None:
    """CPU and memory of an idle, connected `kiosk-sync` (it shares the device with the UI)."""
    import os

    from sync_agent.signing import write_public_key

    broker = MosquittoBroker(binary, work / "broker-idle", durable=True)
    broker.start()
    pub = work / "central.pub"
    write_public_key(pub, load_or_create_private_key(keys))
    open_store(work / "idle.sqlite", create=True).close()
    exe = Path(sys.executable).parent / "kiosk-sync"
    proc = subprocess.Popen(
        [str(exe), "--db", str(work / "idle.sqlite"), "--broker", broker.url, "--venue", "lac", "--device", "idle",
         "--central-key", str(pub), "--log-level", "WARNING"]
    )  # fmt: skip

    def cpu_s() -> float:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    try:
        time.sleep(3.0)
        c0 = cpu_s()
        time.sleep(seconds)
        used = (cpu_s() - c0) / seconds * 100
        rss = next(ln for ln in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if ln.startswith("VmRSS"))
        print(f"idle kiosk-sync: {used:.1f}% of one core over {seconds:.0f} s, {rss.split(':')[1].strip()} resident")
    finally:
        proc.terminate()
        proc.wait(10)
        broker.kill()


def prune_cost(work: Path, rows: int) -> None:
    """Outbox pruning: how long one batch holds the store's write lock (a scan at the door waits at most that),
    against a one-event write transaction (what a scan's outbox append costs) measured in the same run."""
    import uuid
    from datetime import UTC, datetime

    from sqlalchemy import update

    from kiosk.adapters.store.repositories import SqlOutboxStore
    from kiosk.domain.outbox import EventKind, OutboxEvent
    from sync_agent.prune import prune_outbox

    store = open_store(work / "prune.sqlite", create=True)
    try:
        queue_events(store, rows, "door-a")
        now = datetime.now(UTC)
        with store.write() as conn:
            conn.execute(update(t.outbox).values(synced_at=now - timedelta(days=8)))
        appends = []
        for _ in range(200):
            t0 = time.perf_counter()
            with store.write() as conn:
                SqlOutboxStore().append(conn, OutboxEvent(str(uuid.uuid4()), EventKind.FAILED_SCAN, now, {"v": 1}))
            appends.append((time.perf_counter() - t0) * 1000)
        batches, gone = [], 0
        t_all = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            with store.write() as conn:
                n = prune_outbox(conn, synced_before=now - timedelta(days=7), shared_up_to=10**12)
            if n == 0:
                break
            batches.append((time.perf_counter() - t0) * 1000)
            gone += n
        total = time.perf_counter() - t_all
    finally:
        store.close()
    a_med, b_med = statistics.median(appends), statistics.median(batches)
    print(
        f"prune {gone:,} synced rows in {len(batches)} batches of <= 500: {gone / total:,.0f} rows/s; per batch "
        f"median {b_med:.1f} ms, p95 {pct(batches, 95):.1f} ms, max {max(batches):.1f} ms; one-event write "
        f"transaction median {a_med:.2f} ms; ratio batch / one-event write {b_med / a_med:.1f}"
    )


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer", type=int, default=30)
    ap.add_argument("--persist", type=int, default=2000, help="messages for the persistence measurement (0: skip)")
    ap.add_argument("--prune", type=int, default=50_000, help="synced outbox rows for the pruning figure (0: skip)")
    args = ap.parse_args()
    binary = mosquitto_binary()
    if binary is None:
        sys.exit("mosquitto is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        key_file = work / "central.key"
        pub = Verifier([Signer(load_or_create_private_key(key_file)).public])
        raws, drains = [], []
        for run in range(args.runs):
            # A fresh durable broker per run: sessions left by an earlier run would make later runs slower
            # (mosquitto 2.0 rewrites its whole database per change; see RESULTS.md).
            broker = MosquittoBroker(binary, work / f"broker{run}", durable=True)
            broker.start()
            try:
                raws.append(raw_publish_rate(broker, args.events, 330))
                drains.append(drain_rate(broker, key_file, pub, args.events, work, run))
            finally:
                broker.kill()
            print(f"run {run}: raw paho QoS1 {raws[-1]:,.0f} msg/s, drain {drains[-1]:,.0f} events/s")
        raw_m, drain_m = statistics.median(raws), statistics.median(drains)
        print(f"drain {args.events} events acked end to end: median {drain_m:,.0f} events/s (target >= 2,000)")
        print(f"raw paho QoS1 publish loop, one message per event: median {raw_m:,.0f} msg/s")
        print(f"ratio drain / raw: {drain_m / raw_m:.2f}")
        if args.peer:  # --peer 0 skips the peer latency figure
            broker = MosquittoBroker(binary, work / "broker-peer", durable=True)
            broker.start()
            try:
                lat = peer_latency(broker, pub, work, args.peer)
            finally:
                broker.kill()
            print(
                f"peer admission door A -> door B ({len(lat)} scans, central down): "
                f"median {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms, max {max(lat):.1f} ms"
            )
        if args.persist:
            persistence(binary, work, args.persist)
        idle_cost(binary, work, key_file)
        if args.prune:
            prune_cost(work, args.prune)


if __name__ == "__main__":
    main()
