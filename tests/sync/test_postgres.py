"""Central on PostgreSQL (by URL): the suite's own server (tests/fixtures/postgres.py), one database per test.

Never the machine's server on 5432: `pg_url` comes from a cluster initdb'd into a temp dir on a free port.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from sync_agent.central import ingest
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db
from tests.fixtures.postgres import PostgresServer
from tests.sync.conftest import VENV_BIN, open_device_store, outbox_ids, pending, queue_events, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.broker]
REPO = Path(__file__).resolve().parents[2]


def test_the_suite_runs_its_own_server_not_the_machines(postgres_server: PostgresServer, pg_url: str) -> None:
    """The URL points at the fixture's cluster: its port (never 5432), its data directory, its socket dir."""
    import psycopg

    assert postgres_server.port != 5432 and f":{postgres_server.port}/" in pg_url
    conninfo = f"host={postgres_server.host} port={postgres_server.port} user=postgres dbname=postgres"
    with psycopg.connect(conninfo) as conn:
        data_dir, sockets = (
            conn.execute("SELECT current_setting('data_directory'), current_setting('unix_socket_directories')")
        ).fetchone() or ("", "")
    assert Path(data_dir) == postgres_server.data_dir
    assert Path(sockets) == postgres_server.socket_dir
    assert (postgres_server.socket_dir / f".s.PGSQL.{postgres_server.port}").is_socket()


def test_a_port_taken_before_the_server_binds_it_moves_the_server(postgres_server: PostgresServer) -> None:
    """Between picking a free port and postgres binding it, another process may take it: the fixture moves on."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
    server = PostgresServer(postgres_server.bin_dir, folder)
    try:
        server.init()
        with socket.socket() as blocker:
            blocker.bind((server.host, server.port))
            blocker.listen(1)
            taken = server.port
            server.start()
            assert server.running and server.port != taken
            assert "Address already in use" in server.log()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


ORPHAN = """
import os, sys, tempfile
from pathlib import Path
from tests.fixtures.postgres import PostgresServer
server = PostgresServer(Path(sys.argv[1]), Path(tempfile.mkdtemp(prefix="kiosk-pg-")))
server.init()
server.start()
print(server._proc.pid, server.folder, flush=True)
os._exit(0)  # gone without its teardown, as a suite killed by a timeout
"""


def test_a_suite_killed_without_teardown_leaves_no_server(postgres_server: PostgresServer) -> None:
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN, str(postgres_server.bin_dir)], cwd=REPO, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    pid, folder = done.stdout.split()
    try:
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=15, what="the orphaned postgres to exit")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_central_on_postgresql_stores_once_and_finds_incidents(
    pg_url: str, mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    # Two central instances share the load through the shared subscription, on one PostgreSQL database.
    centrals = [start_central(pg_url, mosquitto, keys, f"central-{i}") for i in (1, 2)]
    store_a = open_device_store(tmp_path / "a.sqlite")
    store_b = open_device_store(tmp_path / "b.sqlite")
    queue_events(store_a, 1500, "door-a")
    queue_events(store_b, 1500, "door-b")  # the same ticket ids: every admission is a double admission
    start_agent(store_a, mosquitto, "door-a", keys, batch_size=100)
    start_agent(store_b, mosquitto, "door-b", keys, batch_size=100)
    wait_until(lambda: pending(store_a) == 0 and pending(store_b) == 0, timeout=60, what="both doors drained")
    engine = open_central_db(pg_url)
    with engine.connect() as conn:
        central = list(conn.execute(select(ct.events.c.event_id)).scalars())
        incidents = conn.execute(select(func.count()).select_from(ct.incidents)).scalar_one()
    engine.dispose()
    assert len(central) == len(set(central)) == 3000
    assert set(central) == outbox_ids(store_a) | outbox_ids(store_b)
    admitted = sum(1 for i in range(1500) if i % 4 != 3)
    assert incidents == admitted, "each doubly admitted ticket is exactly one incident"
    assert all(svc.batches_processed > 0 for svc in centrals), "the shared subscription did not share"
    # The command line takes the plain postgresql:// form too.
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    out = subprocess.run(
        [str(VENV_BIN / "kiosk-central"), "stats", "--db", plain, "--json"], capture_output=True, text=True, check=True
    )
    report = json.loads(out.stdout)
    assert report["events"] == 3000 and report["incidents"] == admitted
    assert report["by_device"]["door-a"]["checkin"] == admitted


def test_group_tickets_on_postgresql_two_instances_flag_only_the_entry_beyond_the_allowance(
    pg_url: str, mosquitto, keys, start_central, start_agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three doors admit the same 2-entry tickets; two instances judge the doors' batches concurrently. Without
    # the per-venue lock, two instances each seeing one committed entry plus their own would both find "2 of 2".
    # Each transaction stays open 10 ms after the check, so the instances do overlap (without the lock this
    # test fails).
    check = ingest._check_doubles

    def slow_check(*args: Any) -> int:
        found = check(*args)
        time.sleep(0.01)
        return found

    monkeypatch.setattr(ingest, "_check_doubles", slow_check)
    for i in (1, 2):
        start_central(pg_url, mosquitto, keys, f"central-{i}")
    stores = {d: open_device_store(tmp_path / f"{d}.sqlite") for d in ("door-a", "door-b", "door-c")}
    for device, store in stores.items():
        queue_events(store, 400, device, entries_allowed=2)
    for device, store in stores.items():
        start_agent(store, mosquitto, device, keys, batch_size=20)
    wait_until(lambda: all(pending(s) == 0 for s in stores.values()), timeout=60, what="the doors drained")
    engine = open_central_db(pg_url)
    with engine.connect() as conn:
        per_ticket = dict(
            conn.execute(select(ct.incidents.c.ticket_id, func.count()).group_by(ct.incidents.c.ticket_id)).all()
        )
    engine.dispose()
    admitted = {1_000_000 + i for i in range(400) if i % 4 != 3}
    assert set(per_ticket) == admitted, "every ticket entered three times on a 2-entry allowance is an incident"
    assert set(per_ticket.values()) == {1}, "one entry beyond the allowance is one incident"
