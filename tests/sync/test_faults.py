"""Faults: broker kill -9, central kill -9, agent kill -9 mid-batch, duplicate delivery, a long offline queue.

Each ends with the same check: central holds every event exactly once and the device outbox is empty.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync_agent.central.ingest import open_central_db
from sync_agent.status import read_status
from tests.sync.conftest import (
    VENUE,
    Proc,
    assert_exactly_once,
    central_cmd,
    central_count,
    open_device_store,
    pending,
    queue_events,
    sync_cmd,
    wait_until,
)

pytestmark = pytest.mark.broker


def test_broker_killed_mid_drain_loses_nothing(mosquitto, keys, start_central, start_agent, tmp_path: Path) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 3000, "door-a")
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    start_agent(store, mosquitto, "door-a", keys, batch_size=50, window=2, ack_timeout=1.5)
    wait_until(lambda: central_count(engine) >= 200, what="the drain to start")
    assert pending(store) > 0, "drained before the kill: make the queue longer"
    mosquitto.kill()
    time.sleep(0.5)
    mosquitto.start()
    wait_until(lambda: pending(store) == 0, timeout=60, what="the outbox to drain after the broker restart")
    assert_exactly_once(store, engine)


def test_central_killed_and_restarted(mosquitto, keys, start_agent, procs: list[Proc], tmp_path: Path) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 3000, "door-a")
    central_db = str(tmp_path / "central.sqlite")
    procs.append(Proc(central_cmd(central_db, mosquitto, keys), tmp_path / "central1.log"))
    engine = open_central_db(central_db)
    start_agent(store, mosquitto, "door-a", keys, batch_size=50, window=2, ack_timeout=1.0)
    wait_until(lambda: central_count(engine) >= 200, what="central to ingest")
    procs[0].kill9()
    assert pending(store) > 0
    time.sleep(0.5)
    procs.append(Proc(central_cmd(central_db, mosquitto, keys), tmp_path / "central2.log"))
    wait_until(lambda: pending(store) == 0, timeout=60, what="the drain after central restarted")
    assert_exactly_once(store, engine)
    assert procs[1].term() == 0, procs[1].log()  # SIGTERM: a clean stop


def test_agent_killed_mid_batch(mosquitto, keys, start_central, procs: list[Proc], tmp_path: Path) -> None:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)
    queue_events(store, 3000, "door-a")
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    args = sync_cmd(db, mosquitto, "door-a", keys, "--batch-size", "50", "--window", "2", "--ack-timeout", "1")
    procs.append(Proc(args, tmp_path / "agent1.log"))
    wait_until(lambda: central_count(engine) >= 200, what="the agent to drain")
    procs[0].kill9()
    assert pending(store) > 0
    procs.append(Proc(args, tmp_path / "agent2.log"))
    wait_until(lambda: pending(store) == 0, timeout=60, what="the restarted agent to drain")
    assert_exactly_once(store, engine)
    # SIGTERM: clean stop, the status row says offline.
    assert procs[1].term() == 0, procs[1].log()
    with store.read() as conn:
        status = read_status(conn)
    assert status is not None and not status.online and status.pending == 0
    shown = subprocess.run(
        [*args[:1], "--db", str(db), "--show-status"], capture_output=True, text=True, check=True
    ).stdout
    report = json.loads(shown)
    assert report["status"]["pending"] == 0 and report["status"]["online"] is False
    assert report["status"]["last_ack_at"] is not None and report["dead_letters"] == []


def test_same_batch_delivered_twice_is_stored_once_and_acked_twice(
    mosquitto, keys, start_central, tmp_path: Path
) -> None:
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    events = [
        {
            "seq": i + 1,
            "event_id": str(uuid.uuid4()),
            "kind": "failed_scan",
            "occurred_at": "2026-11-28T18:00:00.000000Z",
            "payload": {},
        }
        for i in range(20)
    ]
    for e in events:
        e["payload"] = {
            "v": 1,
            "scan_id": e["event_id"],
            "device_id": "door-x",
            "gate": "main",
            "verdict": "unknown",
            "scanned_at": "2026-11-28T18:00:00.000000Z",
        }
    batch = json.dumps({"v": 1, "batch_id": "b1", "device_id": "door-x", "events": events}).encode()
    acks: list[dict[str, object]] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="door-x", protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: acks.append(json.loads(msg.payload)["body"])
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    try:
        client.subscribe(f"kiosk/v1/{VENUE}/door-x/ack", qos=1)[1]
        time.sleep(0.2)
        for _ in range(2):
            client.publish(f"kiosk/v1/{VENUE}/door-x/tx", batch, qos=1).wait_for_publish(5)
        wait_until(lambda: len(acks) == 2, what="two acks")
    finally:
        client.disconnect()
        client.loop_stop()
    assert central_count(engine) == 20
    expected = sorted(e["event_id"] for e in events)
    for ack in acks:
        assert sorted(ack["acked"]) == expected  # type: ignore[arg-type]
        assert ack["rejected"] == []


def test_device_offline_for_long_with_10k_events(mosquitto, keys, start_central, start_agent, tmp_path: Path) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    mosquitto.stop()  # the venue's uplink is down for the whole evening
    agent = start_agent(store, mosquitto, "door-a", keys, ack_timeout=3.0)
    queue_events(store, 10_000, "door-a")  # one long write transaction while the agent starts: it must not die

    def offline_status() -> bool:
        with store.read() as conn:
            s = read_status(conn)
        return s is not None and not s.online and s.pending == 10_000 and s.oldest_pending_at is not None

    wait_until(offline_status, what="the status row to show offline with 10k pending")
    assert agent.agent.counters.events_sent == 0 and agent.thread.is_alive()
    mosquitto.start()
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    wait_until(lambda: pending(store) == 0, timeout=60, what="10k events to drain")
    assert_exactly_once(store, open_central_db(central_db))
