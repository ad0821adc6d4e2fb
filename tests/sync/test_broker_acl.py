"""Issue 11, point 2, through real mosquitto with the shipped venue security: a door cannot join central's shared
subscription (central gets every batch), nor subscribe to device `tx`, `#`, `$SYS/#` or another door's topics
(SUBACK "not authorized"); a door still reads everything the protocol sends it, and its agent's subscriptions
are all granted."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.broker import accounts
from sync_agent.mqtt import BrokerSettings
from sync_agent.topics import CENTRAL_RESYNC, CENTRAL_TX, DeviceTopics
from tests.fixtures.broker import MosquittoBroker
from tests.sync.conftest import VENUE, Keys, open_device_store, wait_until
from tests.sync.test_broker import Client, dynamic_security_plugin, venue_broker

pytestmark = pytest.mark.broker
GRANTED_QOS1, NOT_AUTHORIZED = 1, 0x87
A, B = DeviceTopics(VENUE, "door-a"), DeviceTopics(VENUE, "door-b")
V = A.venue_topics


@pytest.fixture
def broker(mosquitto_factory, tmp_path: Path) -> MosquittoBroker:
    return venue_broker(mosquitto_factory, tmp_path)


def test_a_door_cannot_take_a_share_of_centrals_intake_or_read_other_devices(broker: MosquittoBroker) -> None:
    central = Client(broker, "central", "central")
    assert central.sub(CENTRAL_TX) == central.sub(CENTRAL_RESYNC) == GRANTED_QOS1
    door_a = Client(broker, "door-a", "door-a")
    intruder = Client(broker, "door-b", "door-b")
    try:
        attempts = [
            CENTRAL_TX,  # central's own group and filter: mosquitto would hand B every other batch
            CENTRAL_RESYNC,
            f"$share/central/kiosk/v1/{VENUE}/+/tx",
            f"$share/other/kiosk/v1/{VENUE}/+/tx",
            f"kiosk/v1/{VENUE}/+/tx",
            f"kiosk/v1/{VENUE}/+/resync",
            "#",
            "$SYS/#",
            f"kiosk/v1/{VENUE}/#",
            A.tx,
            A.ack,
            A.cmd,
            A.resync,
            A.status,
        ]
        codes = {topic: intruder.sub(topic) for topic in attempts}
        for i in range(40):
            door_a.pub(A.tx, f'{{"batch":{i}}}'.encode())
        for i in range(5):
            door_a.pub(A.resync, f'{{"resync":{i}}}'.encode())
        wait_until(lambda: len(central.messages) >= 45, 10, f"central's 45 messages (got {len(central.messages)})")
        time.sleep(0.3)  # anything the intruder could get would have arrived with central's
        assert sorted(t for t, _ in central.messages) == [A.resync] * 5 + [A.tx] * 40
        assert intruder.messages == [], "door-b received another device's traffic"
        assert {t: c for t, c in codes.items() if c != NOT_AUTHORIZED} == {}, "the broker granted these to a door"
        # Nor can it give itself central's role through the plugin's control topic.
        grant = {"commands": [{"command": "addClientRole", "username": "door-b", "rolename": "central"}]}
        mid = intruder.pub("$CONTROL/dynamic-security/v1", json.dumps(grant).encode())
        assert intruder.puback_codes[mid] == NOT_AUTHORIZED
        assert intruder.sub(CENTRAL_TX) == NOT_AUTHORIZED
    finally:
        for c in (central, door_a, intruder):
            c.close()


def test_a_door_reads_everything_the_protocol_sends_it(broker: MosquittoBroker) -> None:
    central = Client(broker, "central", "central")
    door_a = Client(broker, "door-a", "door-a")
    central.pub(V.catalog, b'{"catalog":1}', retain=True)  # retained before the door subscribes
    door_b = Client(broker, "door-b", "door-b")
    try:
        wanted = [B.ack, B.cmd, V.catalog, V.tickets_snapshot, V.tickets_delta, V.revocations, V.admissions]
        codes = {topic: door_b.sub(topic) for topic in (*wanted, V.peer_admissions)}
        assert set(codes.values()) == {GRANTED_QOS1}, codes
        wait_until(lambda: [t for t, _ in door_b.messages] == [V.catalog], 5, "the retained catalog")
        for topic in wanted:
            central.pub(topic)
        door_a.pub(A.admission, b'{"peer":1}')
        expected = sorted([*wanted, V.catalog, A.admission])
        wait_until(lambda: len(door_b.messages) >= len(expected), 5, "the door's deliveries")
        assert sorted(t for t, _ in door_b.messages) == expected
        # Door-b's own topics: it may publish them (PUBACK success or 0x10 "no matching subscribers").
        mids = [door_b.pub(topic) for topic in (B.tx, B.status, B.admission, B.resync)]
        assert all(door_b.puback_codes[mid] < 0x80 for mid in mids), [door_b.puback_codes[mid] for mid in mids]
        refused = [door_b.pub(topic) for topic in (A.admission, V.catalog, A.ack, V.admissions)]
        assert [door_b.puback_codes[mid] for mid in refused] == [NOT_AUTHORIZED] * 4
    finally:
        for c in (central, door_a, door_b):
            c.close()


def test_the_agents_subscriptions_are_all_granted(
    broker: MosquittoBroker, keys: Keys, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pw = tmp_path / "door-b.pw"
    pw.write_text("pw-door-b")
    pw.chmod(0o600)
    store = open_device_store(tmp_path / "dev.sqlite")
    settings = BrokerSettings.from_url(broker.url, username="door-b", password_file=pw)
    agent = SyncAgent(store, AgentSettings(VENUE, "door-b", settings), keys.verifier())
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    with caplog.at_level(logging.ERROR, logger="sync_agent"):
        thread.start()
        try:
            wait_until(lambda: agent.subscribed, 10, "the agent's SUBACK")
        finally:
            stop.set()
            thread.join(10)
    assert not [r for r in caplog.records if "refused" in r.getMessage()], caplog.text


def test_accounts_tool_adds_replaces_and_removes_and_mosquitto_follows(mosquitto_factory, tmp_path: Path) -> None:
    security = tmp_path / "security.json"
    secret = tmp_path / "pw"
    secret.write_text("first\n")
    for user in ("door-a", "door-b", "central"):
        assert accounts.main(["add", str(security), user, "--venue", VENUE, "--password-file", str(secret)]) == 0
    secret.write_text("pw-door-a\n")
    assert accounts.main(["add", str(security), "door-a", "--venue", VENUE, "--password-file", str(secret)]) == 0
    assert accounts.main(["remove", str(security), "door-b", "--venue", VENUE]) == 0
    assert accounts.main(["remove", str(security), "door-b", "--venue", VENUE]) == 1
    assert security.stat().st_mode & 0o777 == 0o600
    config = json.loads(security.read_text())
    roles = {c["username"]: [r["rolename"] for r in c["roles"]] for c in config["clients"]}
    assert roles == {"central": ["central"], "door-a": ["door", "device:door-a"]}
    assert {r["rolename"] for r in config["roles"]} == {"central", "door", "device:door-a"}
    conf = f"plugin {dynamic_security_plugin()}\nplugin_opt_config_file {security}\nuse_username_as_clientid true\n"
    broker = mosquitto_factory(conf, anonymous=False, name="accounts")
    door_a = Client(broker, "door-a", "door-a")  # the replaced password
    try:
        assert not door_a.connack.is_failure and door_a.sub(A.ack) == GRANTED_QOS1
        assert door_a.sub(B.ack) == NOT_AUTHORIZED
    finally:
        door_a.close()
    for user in ("door-b", "central"):  # removed; central still has the first password
        refused = Client(broker, user, user)
        refused.close()
        assert refused.connack.is_failure, user


def test_install_links_the_plugin_path_the_shipped_config_loads(tmp_path: Path) -> None:
    conf = (Path(accounts.__file__).parent / "mosquitto.conf").read_text()
    (plugin_line,) = [ln for ln in conf.splitlines() if ln.startswith("plugin ")]
    link = plugin_line.split(" ", 1)[1]
    bin_dir = Path(shutil.which("kiosk-provision") or Path(sys.executable).parent / "kiosk-provision").parent
    root = tmp_path / "root"
    library = root / "usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so"
    library.parent.mkdir(parents=True)
    library.write_bytes(b"")
    install = Path(accounts.__file__).parents[2] / "systemd/install.sh"
    cmd = ["bash", str(install), "--root", str(root), "--bin", str(bin_dir), "--with-broker", "--no-enable"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    placed = root / link.lstrip("/")
    assert placed.is_symlink() and os.readlink(placed) == "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so"
