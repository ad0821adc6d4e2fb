"""`kiosk-central publish-*` and `command`: signed catalog, ticket snapshot/deltas, revocations and commands reach
a running agent and are applied; a device that missed a delta asks for a resync and central answers it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlCatalogStore
from kiosk.demo.venue import DemoVenue
from sync_agent.documents import catalog_to_doc, ticket_to_doc
from sync_agent.inbound import TICKETS_SEQ
from sync_agent.status import get_state, inbound_counts, set_state
from tests.sync.conftest import VENUE, VENV_BIN, wait_until

pytestmark = pytest.mark.broker


def central(*args: str) -> str:
    out = subprocess.run([str(VENV_BIN / "kiosk-central"), *args], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def list_tickets(store: Store) -> dict[int, object]:
    with store.read() as conn:
        return {r.ticket_id: r for r in conn.execute(select(t.tickets).where(t.tickets.c.source == "list"))}


def counted(store: Store, kind: str, outcome: str) -> int:
    with store.read() as conn:
        return inbound_counts(conn).get((kind, outcome), 0)


def test_published_data_reaches_the_device_and_gaps_resync(
    demo_venue: tuple[Store, DemoVenue], mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    store, venue = demo_venue
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    agent = start_agent(store, mosquitto, "door-a", keys)
    wait_until(lambda: agent.agent.online, what="agent online")
    common = ["--db", central_db, "--broker", mosquitto.url, "--key", str(keys.key_file), "--venue", VENUE]

    doc = catalog_to_doc(venue.catalog)
    doc["version"] = "central-2"
    (tmp_path / "catalog.json").write_text(json.dumps(doc))
    central("publish-catalog", *common, str(tmp_path / "catalog.json"))

    tickets = [ticket_to_doc(tk) for tk in venue.tickets[:3]]
    (tmp_path / "tickets.json").write_text(json.dumps(tickets))
    central("publish-tickets", *common, str(tmp_path / "tickets.json"))

    def catalog_version() -> str:
        with store.read() as conn:
            return SqlCatalogStore().version(conn)

    wait_until(lambda: catalog_version() == "central-2", what="the catalog")
    wait_until(lambda: set(list_tickets(store)) == {tk["ticket_id"] for tk in tickets}, what="the ticket snapshot")

    new = {**tickets[0], "ticket_id": 4242, "code": "NEWCODE4242"}
    (tmp_path / "delta.json").write_text(json.dumps({"upserts": [new], "removed": [tickets[1]["ticket_id"]]}))
    central("publish-tickets", *common, "--delta", str(tmp_path / "delta.json"))
    wait_until(lambda: 4242 in list_tickets(store) and tickets[1]["ticket_id"] not in list_tickets(store), what="delta")

    # The device loses track (as if a delta never reached it): the next delta is a gap → resync → snapshot.
    with store.write() as conn:
        set_state(conn, TICKETS_SEQ, "0")
    new2 = {**tickets[0], "ticket_id": 4343, "code": "NEWCODE4343"}
    (tmp_path / "delta2.json").write_text(json.dumps({"upserts": [new2]}))
    central("publish-tickets", *common, "--delta", str(tmp_path / "delta2.json"))
    wait_until(lambda: counted(store, "tickets_delta", "gap") == 1, what="the gap")
    wait_until(lambda: counted(store, "tickets_snapshot", "applied") == 2, timeout=15, what="the resync snapshot")
    assert {4242, 4343, tickets[0]["ticket_id"], tickets[2]["ticket_id"]} == set(list_tickets(store))
    with store.read() as conn:
        assert get_state(conn, TICKETS_SEQ) == "2"

    (tmp_path / "revoked.json").write_text(
        json.dumps([{"ticket_id": 4242, "reason": "chargeback", "revoked_at": "2026-11-28T17:00:00Z"}])
    )
    central("publish-revocations", *common, str(tmp_path / "revoked.json"))

    def revoked() -> set[int]:
        with store.read() as conn:
            return set(conn.execute(select(t.revocations.c.ticket_id)).scalars())

    wait_until(lambda: revoked() == {4242}, what="the revocation list (it replaces the demo's)")

    holder_ticket = next(tk for tk in venue.tickets if tk.holder_name)
    args = json.dumps({"ticket_ids": [holder_ticket.ticket_id]})
    central("command", *common, "--device", "door-a", "erase_holder", "--args", args)

    def holder() -> object:
        with store.read() as conn:
            return conn.execute(
                select(t.tickets.c.holder_name).where(t.tickets.c.ticket_id == holder_ticket.ticket_id)
            ).scalar_one()

    wait_until(lambda: holder() is None, what="the erasure command")
    assert central("public-key", "--key", str(keys.key_file)).strip() == keys.signer.public_hex()


def test_central_refills_a_broker_that_lost_its_retained_messages(
    demo_venue: tuple[Store, DemoVenue], mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    _, venue = demo_venue
    central_db = str(tmp_path / "central.sqlite")
    svc = start_central(central_db, mosquitto, keys)
    common = ["--db", central_db, "--broker", mosquitto.url, "--key", str(keys.key_file), "--venue", VENUE]
    doc = catalog_to_doc(venue.catalog)
    doc["version"] = "central-9"
    (tmp_path / "catalog.json").write_text(json.dumps(doc))
    central("publish-catalog", *common, str(tmp_path / "catalog.json"))
    (tmp_path / "tickets.json").write_text(json.dumps([ticket_to_doc(tk) for tk in venue.tickets[:4]]))
    central("publish-tickets", *common, str(tmp_path / "tickets.json"))

    mosquitto.kill()  # a replaced broker: its retained store is gone
    for f in mosquitto.data_dir.iterdir():
        f.unlink()
    svc.connected.clear()
    mosquitto.start()
    assert svc.connected.wait(15), "central did not reconnect"

    from kiosk.adapters.store.engine import open_store

    fresh = open_store(tmp_path / "new-door.sqlite", create=True)
    start_agent(fresh, mosquitto, "door-new", keys)

    def has_data() -> bool:
        with fresh.read() as conn:
            return SqlCatalogStore().version(conn) == "central-9" and len(list_tickets(fresh)) == 4

    wait_until(has_data, what="the new door to get the catalog and tickets from the refilled broker")


def test_publish_errors_are_clear_and_change_nothing(mosquitto, keys, tmp_path: Path) -> None:
    from tests.fixtures.broker import free_port

    central_db = str(tmp_path / "central.sqlite")
    key = ["--key", str(keys.key_file), "--venue", VENUE, "--db", central_db]
    (tmp_path / "t.json").write_text("[]")
    (tmp_path / "bad.json").write_text('[{"ticket_id": "x"}]')
    (tmp_path / "d.json").write_text('{"upserts": []}')

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "kiosk-central"), *args], capture_output=True, text=True, check=False)

    nobody = f"mqtt://127.0.0.1:{free_port()}"
    out = run("publish-tickets", *key, "--broker", nobody, str(tmp_path / "t.json"))
    assert out.returncode == 2 and "refused" in out.stderr.lower()
    out = run("publish-tickets", *key, "--broker", mosquitto.url, "--delta", str(tmp_path / "d.json"))
    assert out.returncode == 2 and "snapshot before deltas" in out.stderr
    out = run("publish-tickets", *key, "--broker", mosquitto.url, str(tmp_path / "bad.json"))
    assert out.returncode == 2 and "ticket_id" in out.stderr
    # Nothing above took a version: the first real snapshot is number 1.
    out = run("publish-tickets", *key, "--broker", mosquitto.url, str(tmp_path / "t.json"))
    assert out.returncode == 0, out.stderr
    from sqlalchemy import select as sel

    from sync_agent.central import tables as ct
    from sync_agent.central.ingest import open_central_db

    with open_central_db(central_db).connect() as conn:
        assert conn.execute(sel(ct.published.c.version)).scalar_one() == 1


def test_the_catalog_lists_the_registered_doors_keys(
    demo_venue: tuple[Store, DemoVenue], mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    from kiosk.adapters.store import peer_tables as pt
    from tests.sync.door_keys import door_public_hex

    store, venue = demo_venue
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    for door in ("door-a", "door-b"):
        central("devices", "add", "--db", central_db, "--device", door, "--venue", VENUE, "--role", "door",
                "--public-key", door_public_hex(door))  # fmt: skip
    agent = start_agent(store, mosquitto, "door-a", keys)
    wait_until(lambda: agent.agent.online, what="agent online")
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_to_doc(venue.catalog)))
    common = ["--db", central_db, "--broker", mosquitto.url, "--key", str(keys.key_file), "--venue", VENUE]
    central("publish-catalog", *common, str(tmp_path / "catalog.json"))
    wait_until(lambda: counted(store, "catalog", "applied") == 1, what="the catalog applied")
    with store.read() as conn:
        held = {r.device_id: r.public_key for r in conn.execute(select(pt.peer_keys))}
    assert held == {"door-a": door_public_hex("door-a"), "door-b": door_public_hex("door-b")}
