"""Central's time on the device: signed acks carry `at`, the agent keeps it in the state directory, and
`kiosk-provision selftest`'s clock check compares the device clock with it. Forged acks never move it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from firmware_config.clock import last_central_time
from kiosk.adapters.store.engine import Store
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.central.service import CentralService
from sync_agent.cli import build_parser, main, resolve
from sync_agent.signing import Signer
from sync_agent.status import inbound_counts
from sync_agent.topics import DeviceTopics
from tests.fixtures.broker import MosquittoBroker
from tests.sync.conftest import (
    VENUE,
    AgentThread,
    Keys,
    open_device_store,
    pending,
    queue_events,
    wait_until,
)

pytestmark = pytest.mark.broker
DEVICE = "door-t"


def write_config(tmp_path: Path, broker_url: str) -> tuple[Path, Path, Path]:
    """A device config as firmware_config reads it; returns (config, state_dir, database)."""
    state, database = tmp_path / "state", tmp_path / "data" / "kiosk.sqlite"
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'version = 2\n[device]\nid = "{DEVICE}"\nvenue = "{VENUE}"\ngate = "main"\nrole = "door"\n'
        f'[broker]\nurl = "{broker_url}"\n[paths]\nstate_dir = "{state}"\ndatabase = "{database}"\n'
    )
    return path, state, database


def selftest_clock(config: Path) -> tuple[int, str]:
    """`kiosk-provision selftest --only clock` as a technician runs it (its own process, the real clock)."""
    done = subprocess.run(
        [sys.executable, "-m", "firmware_config.cli", "selftest", "--config", str(config), "--only", "clock"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def ack_body(at: datetime | str, device: str = DEVICE) -> dict[str, Any]:
    ack = m.Ack(
        v=1, type="ack", device_id=device, batch_id="no-such-batch", acked=[], at=at if isinstance(at, str) else iso(at)
    )
    return ack.model_dump(mode="json")


def counts(store: Store) -> dict[tuple[str, str], int]:
    with store.read() as conn:
        return inbound_counts(conn)


class Publisher:
    def __init__(self, broker: MosquittoBroker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="forger", protocol=mqtt.MQTTv5)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: dict[str, Any]) -> None:
        self.client.publish(topic, json.dumps(payload).encode(), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_acks_record_central_time_forgeries_do_not_and_selftest_checks_it(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    keys: Keys,
    start_central: Callable[..., CentralService],
    start_agent: Callable[..., AgentThread],
) -> None:
    config, state, database = write_config(tmp_path, mosquitto.url)
    database.parent.mkdir(parents=True)
    store = open_device_store(database)
    queue_events(store, 20, DEVICE)
    central_db = str(tmp_path / "central.sqlite")
    central = start_central(central_db, mosquitto, keys)
    # A short interval so that a forged time, if it were taken, would be written within the test.
    agent = start_agent(store, mosquitto, DEVICE, keys, ack_timeout=2.0, state_dir=state, central_time_interval=0.05)
    before = datetime.now(UTC)
    wait_until(lambda: pending(store) == 0, what="the outbox to drain")
    wait_until(lambda: last_central_time(state) is not None, what="central's time in the state directory")
    seen = last_central_time(state)
    assert seen is not None and before - timedelta(seconds=1) <= seen <= datetime.now(UTC)
    code, out = selftest_clock(config)
    assert code == 0 and "clock" in out and "PASS" in out and "central last seen" in out, out

    # Forged acks with a far-future time: unsigned, signed by an unknown key, tampered after signing, and a
    # genuine signature for another device. None may move the recorded time.
    topic = DeviceTopics(VENUE, DEVICE).ack
    future = datetime.now(UTC) + timedelta(days=3650)
    wait_until(lambda: agent.agent.subscribed, what="the agent's subscriptions")
    forger = Publisher(mosquitto)
    try:
        forger.send(topic, {"kid": keys.signer.kid, "body": ack_body(future)})
        forger.send(topic, Signer(Ed25519PrivateKey.generate()).envelope(ack_body(future)))
        tampered = keys.signer.envelope(ack_body(seen + timedelta(seconds=1)))
        tampered["body"]["at"] = iso(future)
        forger.send(topic, tampered)
        forger.send(topic, keys.signer.envelope(ack_body(future, device="door-z")))
        older = keys.signer.envelope(ack_body(seen - timedelta(hours=1)))  # genuine but older: never backwards
        forger.send(topic, older)
        forger.send(topic, keys.signer.envelope(ack_body("not a time, at all")))  # applied, time ignored
        marker = seen + timedelta(seconds=2)  # genuine, sent last: once it is recorded, all the above were handled
        forger.send(topic, keys.signer.envelope(ack_body(marker)))
        wait_until(lambda: last_central_time(state) == marker, what="the genuine ack's time")
        # A verified command's issued_at is central's time too.
        issued = marker + timedelta(seconds=1)
        command = m.Command(v=1, type="command", command_id="c-1", device_id=DEVICE, name="ping", issued_at=iso(issued))
        forger.send(DeviceTopics(VENUE, DEVICE).cmd, keys.signer.envelope(command.model_dump(mode="json")))
        wait_until(lambda: last_central_time(state) == issued, what="the command's time")
    finally:
        forger.close()
    rejected = counts(store)
    for reason in ("unsigned", "unknown_key", "bad_signature", "wrong_device"):
        assert rejected.get(("ack", reason)) == 1, (reason, rejected)
    assert ("ack", "schema") not in rejected and ("command", "applied") in rejected
    agent.stop()
    assert last_central_time(state) == issued
    old = {k: v for k, v in ack_body(future).items() if k != "at"}  # an older central's ack: no `at`, still valid
    assert m.parse(m.Ack, old).at is None

    # Central's clock well ahead of the device's (or the device's RTC went back): the self-test fails.
    central.stop()
    ahead = start_central(central_db, mosquitto, keys, client_id="central-2")
    ahead.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    queue_events(store, 5, DEVICE, start_ticket=2_000_000)
    start_agent(store, mosquitto, DEVICE, keys, ack_timeout=2.0, state_dir=state)
    wait_until(lambda: pending(store) == 0, what="the second drain")
    wait_until(
        lambda: (last_central_time(state) or marker) > datetime.now(UTC) + timedelta(hours=1),
        what="central's time two hours ahead",
    )
    code, out = selftest_clock(config)
    assert code == 1 and "FAIL" in out and "behind central's last time" in out, out


def test_state_dir_from_config_or_flag_and_show_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, state, database = write_config(tmp_path, "mqtt://127.0.0.1:1")
    _, settings, _ = resolve(build_parser().parse_args(["--config", str(config)]))
    assert settings.state_dir == state
    other = tmp_path / "other"
    _, settings, _ = resolve(build_parser().parse_args(["--config", str(config), "--state-dir", str(other)]))
    assert settings.state_dir == other
    flags = ["--db", "d", "--broker", "mqtt://h:1", "--venue", "v", "--device", "d", "--central-key", "k"]
    assert resolve(build_parser().parse_args(flags))[1].state_dir is None  # no state dir: nothing recorded

    database.parent.mkdir(parents=True)
    open_device_store(database).close()
    assert main(["--config", str(config), "--show-status"]) == 0
    assert json.loads(capsys.readouterr().out)["central_time"] is None
    from firmware_config.clock import record_central_time

    when = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    record_central_time(state, when)
    assert main(["--db", str(database), "--state-dir", str(state), "--show-status"]) == 0
    assert json.loads(capsys.readouterr().out)["central_time"] == iso(when)
    assert main(["--db", str(database), "--show-status"]) == 0
    assert "central_time" not in json.loads(capsys.readouterr().out)
