"""Dead letters end to end: a store made before identities, scans recorded as `kiosk-cli`, an agent run as
door-1 — central rejects them all. The technician lists them, requeues them (rejected again: the cause is not
fixed), fixes the cause (`--rewrite-device`), requeues: central accepts them and the device marks them synced."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.dead_letters import count_dead_letters
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.identity import claim_store, store_identity_of
from sync_agent.central import tables as ct
from sync_agent.central.ingest import open_central_db
from sync_agent.status import read_status
from tests.sync.conftest import (
    VENUE,
    VENV_BIN,
    Proc,
    assert_exactly_once,
    central_ids,
    open_device_store,
    pending,
    queue_events,
    sync_cmd,
    wait_until,
)

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def dead_letters(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(VENV_BIN / "kiosk-sync"), "dead-letters", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def listed(db: Path) -> list[dict[str, Any]]:
    result = dead_letters("list", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["dead_letters"]  # type: ignore[no-any-return]


def dead_count(store: Store) -> int:
    with store.read() as conn:
        return count_dead_letters(conn)


def central_rejections(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ct.rejections)).scalar_one())


@pytest.mark.broker
def test_rejected_events_are_listed_requeued_and_accepted_once_the_cause_is_fixed(
    mosquitto, keys, start_central, procs: list[Proc], tmp_path: Path
) -> None:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)  # made before identities: no owner recorded
    ids = queue_events(store, 12, "kiosk-cli")  # what `kiosk check` recorded by default
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    agent = Proc(sync_cmd(db, mosquitto, "door-1", keys, "--ack-timeout", "2"), tmp_path / "agent.log")
    procs.append(agent)

    wait_until(lambda: dead_count(store) == 12 and pending(store) == 0, what="central to reject every event")
    owner = store_identity_of(store)
    assert owner is not None and (owner.device_id, owner.venue_id, owner.claimed_by) == ("door-1", VENUE, "kiosk-sync")
    assert central_ids(engine) == []
    rows = listed(db)
    assert {r["event_id"] for r in rows} == set(ids)
    assert {(r["reason"], r["device_id"]) for r in rows} == {("device_mismatch", "kiosk-cli")}
    assert {r["kind"] for r in rows} == {"checkin", "failed_scan"} and all(r["rejected_at"] for r in rows)
    table = dead_letters("list", "--db", str(db))
    assert table.stdout.splitlines()[0].split() == ["EVENT_ID", "KIND", "REASON", "REJECTED_AT", "DEVICE_ID"]
    assert table.stdout.rstrip().endswith("12 dead letter(s)")

    # Requeued as they are, they go out again (the agent is still running) and come back: the cause remains.
    again = dead_letters("requeue", "--db", str(db), "--reason", "device_mismatch")
    assert again.returncode == 0 and "requeued 12 dead letter(s)" in again.stdout, again.stderr
    wait_until(
        lambda: central_rejections(engine) == 24 and dead_count(store) == 12 and pending(store) == 0,
        what="the unfixed events to be rejected a second time",
    )
    assert central_ids(engine) == []

    fixed = dead_letters("requeue", "--db", str(db), "--all", "--rewrite-device", "--json")
    assert fixed.returncode == 0, fixed.stderr
    answer = json.loads(fixed.stdout)
    assert set(answer["requeued"]) == set(ids) and answer["device_id"] == "door-1"
    wait_until(lambda: set(central_ids(engine)) == set(ids) and pending(store) == 0, what="central to accept them")
    assert dead_count(store) == 0 and listed(db) == []
    assert_exactly_once(store, engine)
    with engine.connect() as conn:
        assert {json.loads(p)["device_id"] for p in conn.execute(select(ct.events.c.payload)).scalars()} == {"door-1"}
    with store.read() as conn:
        assert all(s is not None for s in conn.execute(select(t.outbox.c.synced_at)).scalars())

    def status_clear() -> bool:
        with store.read() as conn:
            s = read_status(conn)
        return s is not None and s.dead_letters == 0 and s.pending == 0

    wait_until(status_clear, what="the status row to show no dead letters")
    assert agent.term() == 0


def _dead(store: Store, reasons: dict[str, str]) -> None:
    """Outbox rows central already answered, with their dead letters (as the agent records a rejection)."""
    with store.write() as conn:
        for eid, reason in reasons.items():
            payload = json.dumps({"v": 1, "scan_id": eid, "device_id": "kiosk-cli"})
            seq = conn.execute(
                insert(t.outbox).values(event_id=eid, kind="checkin", occurred_at=AT, payload=payload, synced_at=AT)
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                insert(t.dead_letters).values(
                    event_id=eid, seq=seq, kind="checkin", payload=payload, reason=reason, rejected_at=AT
                )
            )


def test_requeue_selects_by_id_or_reason_and_refuses_unclear_requests(tmp_path: Path) -> None:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)
    _dead(store, {"e1": "device_mismatch", "e2": "device_mismatch", "e3": "malformed:gate", "e4": "malformed:gate"})
    for args, message in (
        ((), "say which"),
        (("--all", "--id", "e1"), "give it alone"),
        (("--id", "e1", "--rewrite-device"), "no device identity yet"),
    ):
        refused = dead_letters("requeue", "--db", str(db), *args)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    assert dead_count(store) == 4 and pending(store) == 0

    assert "requeued 1 " in dead_letters("requeue", "--db", str(db), "--id", "e3").stdout
    assert [r["event_id"] for r in listed(db)] == ["e1", "e2", "e4"]
    with store.read() as conn:
        top = conn.execute(select(t.outbox.c.event_id).order_by(t.outbox.c.seq.desc()).limit(1)).scalar_one()
    assert top == "e3" and pending(store) == 1  # back at the top of the outbox, unsynced

    claim_store(store, "door-1", VENUE, now=AT, claimed_by="claim")
    out = dead_letters("requeue", "--db", str(db), "--reason", "device_mismatch", "--rewrite-device", "--json")
    assert json.loads(out.stdout) == {"requeued": ["e1", "e2"], "device_id": "door-1"}
    with store.read() as conn:
        payloads = dict(conn.execute(select(t.outbox.c.event_id, t.outbox.c.payload)).all())
    assert {e: json.loads(p)["device_id"] for e, p in payloads.items()} == {
        "e1": "door-1", "e2": "door-1", "e3": "kiosk-cli", "e4": "kiosk-cli",
    }  # fmt: skip
    assert [r["reason"] for r in listed(db)] == ["malformed:gate"]
    assert "requeued 0 " in dead_letters("requeue", "--db", str(db), "--reason", "nothing-like-this").stdout
    store.close()
