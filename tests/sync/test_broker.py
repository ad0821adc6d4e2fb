"""The venue broker configuration: per-device ACLs refuse publishing under another id, credentials made by our
accounts tool work with real mosquitto, the durable persistence settings keep acknowledged QoS 1 messages over a
kill -9 where mosquitto's default autosave loses them, and the agent connects over TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from sync_agent.broker.accounts import add_account
from sync_agent.central.ingest import open_central_db
from sync_agent.mqtt import BrokerSettings, session_properties
from tests.fixtures.broker import BrokerFactory, MosquittoBroker, free_port
from tests.sync.conftest import VENUE, assert_exactly_once, open_device_store, pending, queue_events, wait_until

pytestmark = pytest.mark.broker
USERS = ("door-a", "door-b", "central")


class Client:
    def __init__(self, broker: MosquittoBroker, client_id: str, user: str | None = None, clean: bool = True) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.puback_codes: dict[int, int] = {}
        self.subacks: dict[int, list[int]] = {}  # mid -> SUBACK reason codes (MQTT v5: >= 0x80 is a refusal)
        self.connack: Any = None
        self.disconnected = False
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if user:
            self.c.username_pw_set(user, f"pw-{user}")
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.on_publish = lambda _c, _u, mid, rc, _p: self.puback_codes.__setitem__(mid, rc.value)
        self.c.on_connect = lambda _c, _u, _f, rc, _p: setattr(self, "connack", rc)
        self.c.on_disconnect = lambda *_a: setattr(self, "disconnected", True)
        self.c.on_subscribe = lambda _c, _u, mid, rcs, _p: self.subacks.__setitem__(mid, [r.value for r in rcs])
        self.c.connect(broker.host, broker.port, clean_start=clean, properties=session_properties(3600))
        self.c.loop_start()
        wait_until(lambda: self.connack is not None, 5, "CONNACK")

    def sub(self, topic: str) -> int:
        """Subscribe at QoS 1 and wait for the SUBACK: its reason code (1 granted, 0x87 not authorized)."""
        mid = self.c.subscribe(topic, qos=1)[1]
        wait_until(lambda: mid in self.subacks, 5, f"SUBACK for {topic}")
        return self.subacks[mid][0]

    def pub(self, topic: str, payload: bytes = b"{}", retain: bool = False) -> int:
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        return info.mid

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def dynamic_security_plugin() -> Path:
    """Debian's `mosquitto` ships the plugin under its multiarch folder (systemd/install.sh links it)."""
    found = sorted(Path("/usr/lib").glob("*/mosquitto_dynamic_security.so"))
    if not found:
        pytest.skip("mosquitto_dynamic_security.so is missing (scripts/setup.sh installs the mosquitto package)")
    return found[0]


def venue_security_conf(folder: Path, users: Sequence[str] = USERS) -> str:
    """The shipped venue security (the accounts tool's file, the dynamic security plugin): password `pw-<user>`."""
    folder.mkdir(parents=True, exist_ok=True)
    security = folder / "security.json"
    for user in users:
        add_account(security, VENUE, user, f"pw-{user}")
    assert security.stat().st_mode & 0o777 == 0o600
    return f"plugin {dynamic_security_plugin()}\nplugin_opt_config_file {security}\nuse_username_as_clientid true\n"


def venue_broker(mosquitto_factory: BrokerFactory, folder: Path, users: Sequence[str] = USERS) -> MosquittoBroker:
    """A real mosquitto with the shipped venue security; each user's password is `pw-<user>`."""
    return mosquitto_factory(venue_security_conf(folder, users), anonymous=False, name="secured")


@pytest.fixture
def secured(mosquitto_factory: BrokerFactory, tmp_path: Path) -> MosquittoBroker:
    return venue_broker(mosquitto_factory, tmp_path)


def test_a_device_cannot_publish_or_read_under_another_device_id(secured: MosquittoBroker) -> None:
    central = Client(secured, "central", "central")
    central.sub(f"$share/central/kiosk/v1/{VENUE}/+/tx")
    door_b = Client(secured, "door-b", "door-b")
    door_b.sub(f"kiosk/v1/{VENUE}/door-b/ack")
    door_a = Client(secured, "door-b", "door-a")  # even asking for door-b's client id…
    try:
        assert not door_b.disconnected, "door-a took over door-b's session"
        door_a.sub(f"kiosk/v1/{VENUE}/door-b/ack")
        spoof = door_a.pub(f"kiosk/v1/{VENUE}/door-b/tx", b'{"spoofed":true}')
        door_a.pub(f"kiosk/v1/{VENUE}/door-a/tx", b'{"own":true}')
        central.pub(f"kiosk/v1/{VENUE}/door-b/ack", b'{"for":"door-b"}')
        wait_until(lambda: len(central.messages) >= 1 and len(door_b.messages) >= 1, 5, "deliveries")
        time.sleep(0.3)
        assert [t for t, _ in central.messages] == [f"kiosk/v1/{VENUE}/door-a/tx"]
        assert door_a.messages == [], "door-a read door-b's acks"
        assert door_a.puback_codes[spoof] == 0x87, "mosquitto should answer Not authorized (MQTT v5)"
        # …and a wrong password is refused.
        intruder = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="door-a", protocol=mqtt.MQTTv5)
        intruder.username_pw_set("door-a", "guess")
        codes: list[Any] = []
        intruder.on_connect = lambda _c, _u, _f, rc, _p: codes.append(rc)
        intruder.connect(secured.host, secured.port)
        intruder.loop_start()
        wait_until(lambda: bool(codes), 5, "CONNACK")
        intruder.loop_stop()
        assert codes[0].is_failure
    finally:
        for c in (central, door_a, door_b):
            c.close()


def test_agent_and_central_run_through_the_acl_with_their_credentials(
    secured: MosquittoBroker, keys, tmp_path: Path
) -> None:
    import threading

    from sync_agent.agent import AgentSettings, SyncAgent
    from sync_agent.central.service import CentralService

    pw = tmp_path / "door-a.pw"
    pw.write_text("pw-door-a")
    pw.chmod(0o600)
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 300, "door-a")
    central_db = str(tmp_path / "central.sqlite")
    central = CentralService(
        open_central_db(central_db),
        BrokerSettings(secured.host, secured.port, username="central", password="pw-central"),
        keys.signer,
        "central",
    )
    central.start()
    assert central.connected.wait(5)
    broker = BrokerSettings.from_url(secured.url, username="door-a", password_file=pw)
    agent = SyncAgent(store, AgentSettings(VENUE, "door-a", broker, ack_timeout=2.0), keys.verifier())
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: pending(store) == 0, what="drain through the ACL")
        assert_exactly_once(store, open_central_db(central_db))
    finally:
        stop.set()
        thread.join(10)
        central.stop()


def _queued_after_kill9(broker: MosquittoBroker, n: int) -> tuple[int, bool]:
    """n acknowledged QoS 1 messages queued for an offline persistent subscriber, then kill -9 and restart:
    how many reach the subscriber, and does a retained message survive?"""
    sub = Client(broker, "central-sub", clean=False)
    sub.sub("kiosk/v1/lac/+/tx")
    sub.close()
    pub = Client(broker, "door-pub")
    for i in range(n):
        pub.pub("kiosk/v1/lac/door-a/tx", json.dumps({"i": i}).encode())
    pub.pub("kiosk/v1/lac/catalog", b'{"retained":true}', retain=True)
    pub.close()
    # mosquitto sends the PUBACK before its main loop gets to the save: a kill within those few milliseconds
    # can still lose the last message even with autosave_interval 1 (the protocol's own ack covers that).
    time.sleep(0.3)
    broker.kill()
    broker.start()
    sub = Client(broker, "central-sub", clean=False)
    time.sleep(1.0)
    got = len(sub.messages)
    sub.close()
    probe = Client(broker, "probe")
    probe.sub("kiosk/v1/lac/catalog")
    time.sleep(0.3)
    retained = bool(probe.messages)
    probe.close()
    return got, retained


def test_default_autosave_loses_acked_messages_on_kill9_and_ours_does_not(mosquitto_factory) -> None:
    default = mosquitto_factory(durable=False, name="default")
    lost_got, lost_retained = _queued_after_kill9(default, 200)
    durable = mosquitto_factory(durable=True, name="durable")
    kept_got, kept_retained = _queued_after_kill9(durable, 200)
    assert (lost_got, lost_retained) == (0, False), "mosquitto's default autosave kept data: measurement is wrong"
    assert (kept_got, kept_retained) == (200, True)


def _make_tls(folder: Path) -> tuple[Path, Path, Path, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "venue test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.joinpath("ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, cn in (("broker", "127.0.0.1"), ("door-a", "door-a")):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        if name == "broker":
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
            builder = builder.add_extension(san, False)
        folder.joinpath(f"{name}.crt").write_bytes(
            builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        )
        folder.joinpath(f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    names = ("ca.crt", "broker.crt", "broker.key", "door-a.crt", "door-a.key")
    return tuple(folder / n for n in names)  # type: ignore[return-value]


def test_agent_connects_over_mutual_tls(mosquitto_factory, keys, start_central, tmp_path: Path) -> None:
    import threading

    from sync_agent.agent import AgentSettings, SyncAgent

    ca, cert, key, client_cert, client_key = _make_tls(tmp_path)
    tls_port = free_port()
    broker = mosquitto_factory(
        f"listener {tls_port} 127.0.0.1\ncertfile {cert}\nkeyfile {key}\ncafile {ca}\ntls_version tlsv1.2\n"
        "require_certificate true\n",
        name="tls",
    )
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, broker, keys)  # central on the plain loopback listener
    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 50, "door-a")
    url = f"mqtts://127.0.0.1:{tls_port}"
    no_cert = SyncAgent(
        store, AgentSettings(VENUE, "door-a", BrokerSettings.from_url(url, ca_file=ca)), keys.verifier()
    )
    for _ in range(40):  # the broker asks for a client certificate: without one, no session
        no_cert.step()
    assert not no_cert.online and no_cert.counters.connects == 0
    settings = BrokerSettings.from_url(url, ca_file=ca, client_cert=client_cert, client_key=client_key)
    assert settings.tls
    agent = SyncAgent(store, AgentSettings(VENUE, "door-a", settings, ack_timeout=2.0), keys.verifier())
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: pending(store) == 0, what="drain over TLS")
        assert_exactly_once(store, open_central_db(central_db))
    finally:
        stop.set()
        thread.join(10)


def test_agent_with_a_wrong_password_stays_offline_and_alive(secured: MosquittoBroker, keys, tmp_path: Path) -> None:
    import threading

    from sync_agent.agent import AgentSettings, SyncAgent
    from sync_agent.status import read_status

    store = open_device_store(tmp_path / "dev.sqlite")
    queue_events(store, 5, "door-a")
    broker = BrokerSettings(secured.host, secured.port, username="door-a", password="wrong")
    agent = SyncAgent(store, AgentSettings(VENUE, "door-a", broker, backoff_cap=0.5), keys.verifier())
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,))
    thread.start()
    try:
        time.sleep(2.0)
        assert thread.is_alive() and not agent.online and agent.counters.connects == 0
        with store.read() as conn:
            status = read_status(conn)
        assert status is not None and not status.online and status.pending == 5
        assert "Not authorized" in secured.log() or "not authorised" in secured.log().lower()
    finally:
        stop.set()
        thread.join(10)


def test_the_shipped_venue_config_runs_mosquitto_and_carries_the_protocol(keys, tmp_path: Path) -> None:
    """sync_agent/broker/mosquitto.conf with only its paths and ports changed: a door drains over its TLS listener
    with its password, central reads through the loopback listener, the ACL from the accounts tool applies."""
    import getpass
    import re
    import subprocess
    import threading

    from sync_agent.agent import AgentSettings, SyncAgent
    from sync_agent.broker import accounts
    from tests.fixtures.broker import mosquitto_binary

    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("the mosquitto binary is not installed")
    ca, cert, key, _, _ = _make_tls(tmp_path)
    (tmp_path / "venue-ca.crt").write_bytes(ca.read_bytes())
    etc = tmp_path / "etc"
    (etc / "bridge.d").mkdir(parents=True)
    for user in ("door-a", "central"):
        add_account(etc / "security.json", VENUE, user, f"pw-{user}")
    data = tmp_path / "data"
    data.mkdir()
    tls_port, local_port = free_port(), free_port()
    text = (Path(accounts.__file__).parent / "mosquitto.conf").read_text()
    text = text.replace("/etc/mosquitto/kiosk/bridge.d", str(etc / "bridge.d"))
    text = text.replace("/usr/local/lib/kiosk/mosquitto_dynamic_security.so", str(dynamic_security_plugin()))
    text = text.replace("/etc/mosquitto/kiosk/", f"{etc}/").replace("/var/lib/mosquitto/", f"{data}/")
    text = text.replace("/etc/mosquitto/certs/broker.crt", str(cert)).replace(
        "/etc/mosquitto/certs/broker.key", str(key)
    )
    text = text.replace("/etc/mosquitto/certs/venue-ca.crt", str(ca))
    text = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", text, flags=re.M)
    text = text.replace("listener 1883 127.0.0.1", f"listener {local_port} 127.0.0.1")
    assert not [ln for ln in text.splitlines() if "/etc/mosquitto" in ln and not ln.startswith("#")]
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(text + f"\nuser {getpass.getuser()}\nlog_dest file {tmp_path / 'log'}\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        wait_until(lambda: _listening(local_port) and _listening(tls_port), 10, "the venue broker to listen")

        from sync_agent.central.service import CentralService

        central = CentralService(
            open_central_db(str(tmp_path / "central.sqlite")),
            BrokerSettings("127.0.0.1", local_port, username="central", password="pw-central"),
            keys.signer,
            "central",
        )
        central.start()
        assert central.connected.wait(10)
        store = open_device_store(tmp_path / "dev.sqlite")
        queue_events(store, 100, "door-a")
        pw = tmp_path / "pw"
        pw.write_text("pw-door-a")
        pw.chmod(0o600)
        broker = BrokerSettings.from_url(
            f"mqtts://127.0.0.1:{tls_port}", username="door-a", password_file=pw, ca_file=ca
        )
        agent = SyncAgent(store, AgentSettings(VENUE, "door-a", broker, ack_timeout=2.0), keys.verifier())
        stop = threading.Event()
        thread = threading.Thread(target=agent.run, args=(stop,))
        thread.start()
        try:
            wait_until(lambda: pending(store) == 0, what="the drain through the shipped config")
            assert_exactly_once(store, open_central_db(str(tmp_path / "central.sqlite")))
        finally:
            stop.set()
            thread.join(10)
            central.stop()
    finally:
        proc.kill()
        proc.wait(5)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    assert "Error" not in err, err


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False
