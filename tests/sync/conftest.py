"""Helpers for the sync tests: central's key pair, in-process central and agents, subprocess runners, waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from kiosk.adapters.sdnotify import SystemdNotifier
from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, open_store
from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.domain.clock import Clock, system_clock
from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db
from sync_agent.central.service import CentralService
from sync_agent.inbound import CommandHandler
from sync_agent.mqtt import BrokerSettings
from sync_agent.signing import Signer, Verifier, load_or_create_private_key, write_public_key
from tests.fixtures.broker import MosquittoBroker
from tests.sync.door_keys import door_key, door_key_pem, trust_test_doors

VENUE = "lac"
VENV_BIN = Path(sys.executable).parent


class RecordingNotifier(SystemdNotifier):
    """systemd's side of the notify protocol, in memory: every message with the monotonic time it was sent."""

    def __init__(self) -> None:
        super().__init__("")
        self.messages: list[tuple[float, str]] = []

    def notify(self, message: str) -> bool:
        self.messages.append((time.monotonic(), message))
        return True

    def lines(self, prefix: str = "") -> list[str]:
        return [m for _, m in list(self.messages) if m.startswith(prefix)]


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Keys:
    key_file: Path
    pub_file: Path
    signer: Signer

    def verifier(self) -> Verifier:
        return Verifier([self.signer.public])


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    key_file = tmp_path / "central.key"
    private = load_or_create_private_key(key_file)
    pub = tmp_path / "central.pub"
    write_public_key(pub, private)
    return Keys(key_file, pub, Signer(private))


class AgentThread:
    """A SyncAgent running its real loop in a thread (stop() = the SIGTERM path)."""

    def __init__(
        self,
        store: Store,
        broker: MosquittoBroker,
        device: str,
        keys: Keys,
        *,
        clock: Clock = system_clock,
        notifier: SystemdNotifier | None = None,
        commands: Mapping[str, CommandHandler] | None = None,
        password: str | None = None,  # for a broker with accounts: the user is the device id
        **kw: float,
    ) -> None:
        login = {"username": device, "password": password} if password else {}
        settings = AgentSettings(
            VENUE,
            device,
            BrokerSettings(broker.host, broker.port, keepalive=5, **login),
            backoff_cap=1.0,
            **kw,  # type: ignore[arg-type]
        )
        trust_test_doors(store, if_none=True)  # peer admissions are signed: the doors' keys, as a catalog lists them
        self.agent = SyncAgent(
            store, settings, keys.verifier(), clock=clock, notifier=notifier, commands=commands,
            device_key=door_key(device),
        )  # fmt: skip
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.agent.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def start_agent() -> Iterator[Callable[..., AgentThread]]:
    made: list[AgentThread] = []

    def start(store: Store, broker: MosquittoBroker, device: str, keys: Keys, **kw: Any) -> AgentThread:
        a = AgentThread(store, broker, device, keys, **kw)
        made.append(a)
        return a

    yield start
    for a in made:
        if a.thread.is_alive():
            a.stop()


@pytest.fixture
def start_central() -> Iterator[Callable[..., CentralService]]:
    made: list[CentralService] = []

    def start(db_url: str, broker: MosquittoBroker, keys: Keys, client_id: str = "central-1") -> CentralService:
        svc = CentralService(
            open_central_db(db_url), BrokerSettings(broker.host, broker.port, keepalive=5), keys.signer, client_id
        )
        svc.start()
        assert svc.connected.wait(10), "central did not connect"
        made.append(svc)
        return svc

    yield start
    for svc in made:
        svc.stop()


class Proc:
    """A kiosk-sync or kiosk-central subprocess that can be killed -9."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log_path = log
        self._fh = log.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.p = subprocess.Popen(args, stdout=self._fh, stderr=subprocess.STDOUT, env=env)

    def kill9(self) -> None:
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)

    def term(self) -> int:
        self.p.send_signal(signal.SIGTERM)
        return self.p.wait(15)

    def close(self) -> None:
        if self.p.poll() is None:
            self.kill9()
        self._fh.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    made: list[Proc] = []
    yield made
    for p in made:
        p.close()


def sync_cmd(db: Path, broker: MosquittoBroker, device: str, keys: Keys, *extra: str) -> list[str]:
    key_file = db.parent / f"{device}-key.pem"
    if not key_file.exists():
        key_file.write_bytes(door_key_pem(device))
    return [
        str(VENV_BIN / "kiosk-sync"),
        "--db", str(db), "--broker", broker.url, "--venue", VENUE, "--device", device,
        "--central-key", str(keys.pub_file), "--device-key", str(key_file), *extra,
    ]  # fmt: skip


def central_cmd(db_url: str, broker: MosquittoBroker, keys: Keys, *extra: str) -> list[str]:
    return [
        str(VENV_BIN / "kiosk-central"),
        "--db",
        db_url,
        "--broker",
        broker.url,
        "--key",
        str(keys.key_file),
        *extra,
    ]


def pending(store: Store) -> int:
    with store.read() as conn:
        return SqlOutboxStore().pending_count(conn)


def outbox_ids(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(t.outbox.c.event_id)).scalars())


def central_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(ct.events.c.event_id)).scalars())


def central_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ct.events)).scalar_one())


def assert_exactly_once(store: Store, engine: Engine) -> None:
    ids = central_ids(engine)
    assert len(ids) == len(set(ids)), "central holds an event twice"
    assert set(ids) == outbox_ids(store), "central and the device disagree on the events"
    assert pending(store) == 0, "the device outbox is not empty"


def open_device_store(path: Path) -> Store:
    store = open_store(path, create=True)
    trust_test_doors(store)  # the doors' keys, as a catalog would list them (peer admissions are signed)
    return store


def queue_events(
    store: Store, n: int, device: str, *, start_ticket: int = 1_000_000, entries_allowed: int | None = None
) -> list[str]:
    """`n` outbox events as the scanning service writes them (checkins and failed scans), in one transaction.

    Check-ins carry `entries_allowed` when given (else none, like an older device's events: one entry)."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from kiosk.domain.outbox import EventKind, OutboxEvent
    from kiosk.domain.timeutil import iso

    base = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
    ids = []
    outbox = SqlOutboxStore()
    with store.write() as conn:
        for i in range(n):
            eid = str(uuid.uuid4())
            at = base + timedelta(milliseconds=i)
            admitted = i % 4 != 3
            payload = {
                "v": 1,
                "scan_id": eid,
                "device_id": device,
                "gate": "main",
                "list_id": 1,
                "direction": "entry",
                "verdict": "valid" if admitted else "unknown",
                "detail": "",
                "ticket_id": start_ticket + i if admitted else None,
                "performance_id": 12 if admitted else None,
                "scanned_at": iso(at),
            }
            if admitted:
                payload["movement"] = "entry"
                if entries_allowed is not None:
                    payload["entries_allowed"] = entries_allowed
            else:
                payload["text_prefix"] = "JUNK"
            kind = EventKind.CHECKIN if admitted else EventKind.FAILED_SCAN
            outbox.append(conn, OutboxEvent(eid, kind, at, payload))
            ids.append(eid)
    return ids
