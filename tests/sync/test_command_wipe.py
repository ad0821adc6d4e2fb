"""The `wipe` command records a request for a technician and erases nothing; it must name this device and carry a
nonce, a replay of its command id is a duplicate and a new command id with a used nonce is `replayed_wipe`. The
pending request shows in the agent's status text (the status row, systemd STATUS), its presence, and after a
restart."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware_config.wipe_request import pending_wipe
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore
from kiosk.demo.venue import DemoVenue
from kiosk.domain.clock import fixed_clock
from kiosk.domain.timeutil import iso
from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.central.publish import command_message
from sync_agent.mqtt import BrokerSettings
from sync_agent.status import inbound_counts, read_status
from tests.sync.conftest import VENUE, open_device_store, queue_events, wait_until

NONCE = "n0nce-2026-wipe-a"


def wipe_body(command_id: str, now: datetime, **args: Any) -> dict[str, Any]:
    return {"v": 1, "type": "command", "command_id": command_id, "device_id": "door-a", "name": "wipe",
            "args": {"device_id": "door-a", "nonce": NONCE, **args}, "issued_at": iso(now)}  # fmt: skip


def offline_agent(store: Store, keys: Any, now: datetime) -> SyncAgent:
    """An agent that is never connected: its inbound handler and status are what is tested."""
    settings = AgentSettings(VENUE, "door-a", BrokerSettings("127.0.0.1", 1))
    return SyncAgent(store, settings, keys.verifier(), clock=fixed_clock(now))


def test_a_wipe_is_only_requested_and_a_replay_is_refused(
    demo_venue: tuple[Store, DemoVenue], keys: Any, frozen_now: datetime
) -> None:
    store, _ = demo_venue
    with store.read() as conn:
        pending_before, catalog_before = SqlOutboxStore().pending_count(conn), SqlCatalogStore().version(conn)
    agent = offline_agent(store, keys, frozen_now)

    def send(body: dict[str, Any]) -> str:
        return agent.inbound.handle(agent.topics.cmd, json.dumps(keys.signer.envelope(body)).encode())

    assert send(wipe_body("w-0", frozen_now, device_id="door-b")) == "wrong_device"  # the args must name this one
    assert send(wipe_body("w-0", frozen_now, nonce="short")) == "bad_arguments"
    assert "WIPE" not in agent.status_text()
    assert send(wipe_body("w-1", frozen_now)) == "applied"
    assert send(wipe_body("w-1", frozen_now)) == "duplicate"  # the same command again: applied once
    assert send(wipe_body("w-2", frozen_now)) == "replayed_wipe"  # re-signed with a used nonce
    with store.read() as conn:
        request = pending_wipe(conn)
        counts = inbound_counts(conn)
        # Nothing erased: the queue and the catalog are as they were.
        assert (SqlOutboxStore().pending_count(conn), SqlCatalogStore().version(conn)) == (
            pending_before,
            catalog_before,
        )
    assert request is not None and (request.command_id, request.nonce, request.device_id) == ("w-1", NONCE, "door-a")
    assert counts[("command", "replayed_wipe")] == 1 and counts[("command", "applied")] == 1

    assert "WIPE REQUESTED" in agent.status_text()
    agent._refresh_status(force=True)
    with store.read() as conn:
        row = read_status(conn)
    assert row is not None and "WIPE REQUESTED: confirm with kiosk-provision wipe" in row.text
    _, health = agent.presence._write(True, None, agent.status_text(), frozen_now)  # what the presence carries
    assert health["wipe_requested"] == "w-1"

    again = offline_agent(store, keys, frozen_now)  # a restarted agent still shows it
    assert "WIPE REQUESTED" in again.status_text()


@pytest.mark.broker
def test_a_wipe_sent_by_centrals_command_builder_reaches_the_status_row(
    mosquitto: Any, keys: Any, start_agent: Any, tmp_path: Path, frozen_now: datetime
) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 3, "door-a")
    agent = start_agent(store, mosquitto, "door-a", keys, clock=fixed_clock(frozen_now))
    wait_until(lambda: agent.agent.subscribed, what="SUBACK")
    topic, payload, _ = command_message(keys.signer, VENUE, "door-a", "wipe", {"device_id": "door-a", "nonce": NONCE},
                                        frozen_now)  # fmt: skip
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="central-probe", protocol=mqtt.MQTTv5)
    c.connect(mosquitto.host, mosquitto.port)
    c.loop_start()
    try:
        c.publish(topic, payload, qos=1).wait_for_publish(5)
    finally:
        c.disconnect()
        c.loop_stop()

    def row_text() -> str:
        with store.read() as conn:
            row = read_status(conn)
        return row.text if row else ""

    wait_until(lambda: "WIPE REQUESTED" in row_text(), what="the wipe request in the status row")
    agent.stop()
    with store.read() as conn:
        assert pending_wipe(conn) is not None
        assert SqlOutboxStore().pending_count(conn) == 3  # no central here: the queue waits, nothing erased
