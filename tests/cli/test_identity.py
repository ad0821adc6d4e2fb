"""One device identity through the real `kiosk` command: the store says whose it is, every writer records under it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from kiosk.adapters.store.engine import open_store

NOW = "2026-11-28T18:00:00Z"


def kiosk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args], capture_output=True, text=True, timeout=120, check=False
    )


def one(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[0])  # type: ignore[no-any-return]


def scan_devices(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT device_id FROM checkins UNION SELECT device_id FROM failed_scans").fetchall()
        payloads = conn.execute("SELECT payload FROM outbox").fetchall()
    return {r[0] for r in rows} | {json.loads(p[0])["device_id"] for p in payloads}


def test_demo_data_claims_the_store_and_check_records_under_it(tmp_path: Path) -> None:
    db = tmp_path / "door.sqlite"
    made = one(
        kiosk("demo-data", "--db", str(db), "--tickets", "5", "--now", NOW, "--device", "door-1", "--venue", "lac")
    )
    assert (made["device_id"], made["venue_id"]) == ("door-1", "lac")
    shown = one(kiosk("store", "identity", "--db", str(db)))
    assert shown == {**shown, "device_id": "door-1", "venue_id": "lac", "role": "both", "claimed_by": "demo-data"}

    assert one(kiosk("check", "--db", str(db), "--now", NOW, "NOT-A-TICKET"))["verdict"] == "unknown"
    assert one(kiosk("check", "--db", str(db), "--now", NOW, "--device", "door-1", "X2"))["verdict"] == "unknown"
    assert scan_devices(db) == {"door-1"}  # no `kiosk-cli` anywhere: the store's id, not a default

    refused = kiosk("check", "--db", str(db), "--now", NOW, "--device", "door-2", "X3")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1 and "belongs to device door-1 at venue lac" in refused.stderr
    assert "--device names device door-2" in refused.stderr
    assert scan_devices(db) == {"door-1"}


def test_demo_data_on_a_store_of_another_device_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "door.sqlite"
    one(kiosk("demo-data", "--db", str(db), "--tickets", "5", "--now", NOW, "--device", "door-1", "--venue", "lac"))
    keys = db.with_name(db.name + ".issuer-keys.json")
    keys.unlink()
    again = kiosk("demo-data", "--db", str(db), "--tickets", "5", "--now", NOW, "--device", "door-2", "--venue", "lac")
    assert again.returncode == 1 and "belongs to device door-1" in again.stderr
    assert not keys.exists()  # refused before anything was written


def test_a_store_made_before_identities_is_claimed_once(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    open_store(db, create=True).close()  # as every store was made before: no identity row
    unclaimed = kiosk("check", "--db", str(db), "--now", NOW, "X")
    assert unclaimed.returncode == 1 and "no device identity yet" in unclaimed.stderr
    assert f"kiosk store claim --db {db}" in unclaimed.stderr
    named = kiosk("check", "--db", str(db), "--now", NOW, "--device", "door-7", "X")
    assert named.returncode == 1 and "no device identity yet" in named.stderr  # --device alone does not claim
    assert kiosk("store", "identity", "--db", str(db)).returncode == 1

    bad = kiosk("store", "claim", "--db", str(db), "--device", "Door 7", "--venue", "lac")
    assert bad.returncode == 1 and "not valid" in bad.stderr
    claimed = one(kiosk("store", "claim", "--db", str(db), "--device", "door-7", "--venue", "lac", "--role", "door"))
    assert (claimed["device_id"], claimed["venue_id"], claimed["role"], claimed["claimed_by"]) == (
        "door-7", "lac", "door", "claim",
    )  # fmt: skip
    assert one(kiosk("store", "claim", "--db", str(db), "--device", "door-7", "--venue", "lac")) == claimed
    other = kiosk("store", "claim", "--db", str(db), "--device", "door-8", "--venue", "lac")
    assert other.returncode == 1 and "belongs to device door-7" in other.stderr
    one(kiosk("check", "--db", str(db), "--now", NOW, "X"))
    assert scan_devices(db) == {"door-7"}


def test_headless_demo_records_under_the_demo_device(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    result = kiosk("demo", "--headless", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert one(kiosk("store", "identity", "--db", str(db)))["device_id"] == "demo-kiosk-1"
    assert scan_devices(db) == {"demo-kiosk-1"}
