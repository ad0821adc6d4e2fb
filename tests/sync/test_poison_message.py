"""One poisoned message on a device's `ack` topic (400 KB of `[`, QoS 1) and `kiosk-sync` as systemd runs it: the
agent stays alive, counts it, keeps draining, and acknowledged it to the broker, so a restart does not get it
again. (It used to die of a RecursionError out of paho's loop, and, the session being persistent, at every
restart after.)"""

from __future__ import annotations

from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.adapters.store.engine import Store
from sync_agent.central.ingest import open_central_db
from sync_agent.status import inbound_counts
from sync_agent.topics import DeviceTopics
from tests.fixtures.broker import MosquittoBroker
from tests.sync.conftest import (
    VENUE,
    Proc,
    central_count,
    open_device_store,
    pending,
    queue_events,
    sync_cmd,
    wait_until,
)

pytestmark = pytest.mark.broker
ACK = DeviceTopics(VENUE, "door-a").ack
POISON = b"[" * 400_000


def publish(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="poisoner", protocol=mqtt.MQTTv5)
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()


def count(store: Store, outcome: str) -> int:
    with store.read() as conn:
        return inbound_counts(conn).get(("ack", outcome), 0)


def test_a_deeply_nested_ack_is_counted_acknowledged_and_never_kills_the_agent(
    mosquitto: MosquittoBroker, keys, start_central, procs: list[Proc], tmp_path: Path
) -> None:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)
    queue_events(store, 20, "door-a")
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    agent = Proc(sync_cmd(db, mosquitto, "door-a", keys), tmp_path / "agent1.log")
    procs.append(agent)
    wait_until(lambda: pending(store) == 0, what="the first events drained (the agent is subscribed)")

    publish(mosquitto, ACK, POISON)
    wait_until(lambda: count(store, "too_deep") == 1 or agent.p.poll() is not None, what="the poison handled")
    assert agent.p.poll() is None, f"kiosk-sync died:\n{agent.log()[-3000:]}"
    assert "too_deep" in agent.log()

    queue_events(store, 20, "door-a", start_ticket=2_000_000)
    wait_until(lambda: pending(store) == 0 and central_count(engine) == 40, what="the agent to drain again")
    assert agent.term() == 0, agent.log()[-3000:]

    # While it is down, a marker queues behind whatever the broker still holds for the persistent session: an
    # unacknowledged poison would come again before it.
    publish(mosquitto, ACK, b"{not json")
    again = Proc(sync_cmd(db, mosquitto, "door-a", keys), tmp_path / "agent2.log")
    procs.append(again)
    wait_until(lambda: count(store, "malformed_json") == 1, what="the marker after the restart")
    assert count(store, "too_deep") == 1, "the poison was delivered again: it had not been acknowledged"
    assert again.p.poll() is None and "too_deep" not in again.log()
    assert again.term() == 0, again.log()[-3000:]
