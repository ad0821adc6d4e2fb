"""Venue peers and double admissions: door B learns door A's admission through the broker with central down;
two doors admitting one ticket offline become exactly one incident in central; a group ticket's allowed entries
at two doors are none, one entry beyond its allowance is one."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, open_store
from kiosk.adapters.store.repositories import SqlTicketStore
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import FESTIVAL, PERF_TODAY, T_FULL, DemoVenue, build_demo_venue, install_demo_venue
from kiosk.domain.model import TicketRecord
from kiosk.domain.peer_admissions import peer_id
from kiosk.services.scanning import ScanningService
from sync_agent.status import inbound_counts
from tests.conftest import DEMO_NOW
from tests.sync.conftest import VENV_BIN, pending, wait_until

pytestmark = pytest.mark.broker


def door(tmp_path: Path, name: str, venue: DemoVenue) -> Store:
    store = open_store(tmp_path / f"door-{name}.sqlite", create=True)
    install_demo_venue(store, venue, None, DEMO_NOW)
    return store


def two_doors(tmp_path: Path) -> tuple[Store, Store, DemoVenue]:
    venue = build_demo_venue(DEMO_NOW, 40, seed=11)
    return door(tmp_path, "a", venue), door(tmp_path, "b", venue), venue


def central_incidents(central_db: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(VENV_BIN / "kiosk-central"), "incidents", "--db", central_db, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    incidents: list[dict[str, Any]] = json.loads(out.stdout)
    return incidents


def inbound(store: Store, kind: str, outcome: str) -> int:
    with store.read() as conn:
        return inbound_counts(conn).get((kind, outcome), 0)


def scanner(store: Store, device: str, start_s: int = 0) -> ScanningService:
    clock = iter(DEMO_NOW + timedelta(seconds=start_s + i) for i in range(10_000))
    return scanning_service(store, device, clock=lambda: next(clock))


def valid_codes(venue: DemoVenue) -> list[str]:
    return [code for code, verdict in venue.expected if verdict == "valid"]


def test_door_b_reads_already_used_within_a_second_with_central_down(
    mosquitto, keys, start_agent, tmp_path: Path
) -> None:
    store_a, store_b, venue = two_doors(tmp_path)
    a = start_agent(store_a, mosquitto, "door-a", keys)
    b = start_agent(store_b, mosquitto, "door-b", keys)
    wait_until(lambda: a.agent.subscribed and b.agent.subscribed, what="both agents subscribed")
    code = valid_codes(venue)[0]
    first = scanner(store_a, "door-a").scan(code, "main")
    assert first.verdict.code.value == "valid"
    t0 = time.monotonic()

    def learned() -> bool:
        with store_b.read() as conn:
            row = conn.execute(select(t.checkins).where(t.checkins.c.scan_id == peer_id(first.scan_id))).first()
        return row is not None and row.source == "peer" and row.device_id == "door-a"

    wait_until(learned, timeout=1.0, what="door B to learn door A's admission")
    assert time.monotonic() - t0 < 1.0
    with store_b.read() as conn:  # B never learnt A's event id (it could replay it on its own tx)
        assert conn.execute(select(t.checkins).where(t.checkins.c.scan_id == first.scan_id)).first() is None
    second = scanner(store_b, "door-b").scan(code, "main")
    assert second.verdict.code.value == "already_used"
    assert second.verdict.first_use is not None and second.verdict.first_use.device_id == "door-a"
    # Central never ran: A's events are still pending — the peers did not need it.
    assert pending(store_a) >= 1


def test_two_doors_admitting_one_ticket_offline_make_one_incident(
    mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    store_a, store_b, venue = two_doors(tmp_path)
    # The doors were online earlier: the broker keeps their sessions (7 days) and queues what they miss. Without
    # that, a door connecting for the first time after the other's admission was published never hears of it
    # (the other cause of this test's rare failure).
    for store, name in ((store_a, "door-a"), (store_b, "door-b")):
        earlier = start_agent(store, mosquitto, name, keys)
        wait_until(lambda: earlier.agent.subscribed, what=f"{name}'s first session")  # noqa: B023
        earlier.stop()
    code = valid_codes(venue)[1]
    assert scanner(store_a, "door-a").scan(code, "main").verdict.code.value == "valid"
    assert scanner(store_b, "door-b").scan(code, "vip").verdict.code.value != "valid"  # wrong gate: no admission
    assert scanner(store_b, "door-b").scan(code, "main").verdict.code.value == "valid"  # offline: B cannot know
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    start_agent(store_a, mosquitto, "door-a", keys)
    start_agent(store_b, mosquitto, "door-b", keys)
    wait_until(lambda: pending(store_a) == 0 and pending(store_b) == 0, what="both doors drained")

    def central_republished_a_to_b() -> int:
        # "own" (B's own admission coming back) does not count: it used to, so this wait could end before A's
        # admission had reached B.
        return inbound(store_b, "central_admissions", "applied") + inbound(store_b, "central_admissions", "duplicate")

    wait_until(lambda: central_republished_a_to_b() >= 1, what="central's re-published admissions at door B")
    wait_until(lambda: inbound(store_b, "central_admissions", "own") == 1, what="B's own admission back, as own")
    with store_b.read() as conn:  # A's admission is at B once, whichever way it came first
        rows = conn.execute(select(t.checkins).where(t.checkins.c.device_id == "door-a")).all()
    assert len(rows) == 1 and rows[0].source == "peer"
    incidents = central_incidents(central_db)
    assert len(incidents) == 1, incidents
    inc = incidents[0]
    assert {inc["first_device"], inc["second_device"]} == {"door-a", "door-b"}
    assert inc["first_gate"] == inc["second_gate"] == "main"
    assert inc["first_at"] <= inc["second_at"]
    text = subprocess.run(
        [str(VENV_BIN / "kiosk-central"), "incidents", "--db", central_db], capture_output=True, text=True, check=True
    ).stdout
    assert "double_admission" in text and "door-a/main" in text and "door-b/main" in text
    stats = json.loads(
        subprocess.run(
            [str(VENV_BIN / "kiosk-central"), "stats", "--db", central_db, "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert stats["incidents"] == 1
    assert stats["by_device"]["door-a"] == {"checkin": 1}
    assert stats["by_device"]["door-b"] == {"checkin": 1, "failed_scan": 1}
    assert stats["by_kind"] == {"checkin": 2, "failed_scan": 1}
    from sync_agent.central.ingest import open_central_db
    from sync_agent.central.ingest import stats as central_stats

    engine = open_central_db(central_db)

    def pending_acks() -> int:
        with engine.connect() as conn:
            return int(central_stats(conn)["pending_acks"])

    wait_until(lambda: pending_acks() == 0, what="acks delivered")


def test_a_group_tickets_allowed_entries_at_two_doors_are_no_incident_one_more_is_one(
    mosquitto, keys, start_central, start_agent, tmp_path: Path
) -> None:
    venue = build_demo_venue(DEMO_NOW, 10, seed=12)
    group = TicketRecord(7_000_001, FESTIVAL, T_FULL, PERF_TODAY, entries_allowed=2, code="GRP2ENTRIES7")
    doors = {name: door(tmp_path, name, venue) for name in ("a", "b", "c")}
    for store in doors.values():
        with store.write() as conn:
            SqlTicketStore().upsert(conn, [group], source="list")
    # Offline, each door admits the group ticket once: two entries of two allowed.
    for start_s, name in enumerate(("a", "b")):
        verdict = scanner(doors[name], f"door-{name}", start_s).scan(group.code or "", "main").verdict
        assert verdict.code.value == "valid"
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    for name in ("a", "b"):
        start_agent(doors[name], mosquitto, f"door-{name}", keys)
    wait_until(lambda: pending(doors["a"]) == 0 and pending(doors["b"]) == 0, what="doors A and B drained")
    assert central_incidents(central_db) == [], "two entries of a two-entry ticket are not a double admission"
    # Door C never heard of them (offline all along): a third entry, one beyond the allowance.
    assert scanner(doors["c"], "door-c", 60).scan(group.code or "", "main").verdict.code.value == "valid"
    start_agent(doors["c"], mosquitto, "door-c", keys)
    wait_until(lambda: pending(doors["c"]) == 0, what="door C drained")
    incidents = central_incidents(central_db)
    assert len(incidents) == 1, incidents
    inc = incidents[0]
    assert inc["ticket_id"] == group.ticket_id and inc["performance_id"] == PERF_TODAY
    # The entry beyond the allowance (the latest) is paired with the earliest entry of another door.
    assert (inc["first_device"], inc["second_device"]) == ("door-a", "door-c")
