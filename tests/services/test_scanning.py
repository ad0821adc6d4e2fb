"""The check-in path on a real SQLite file: verdict, rows and outbox event written together, debounce, bad input."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, StoreError, open_store
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import DemoVenue
from kiosk.domain.model import Direction
from kiosk.domain.verdicts import VerdictCode
from kiosk.services.scanning import ScanningService

pytestmark = pytest.mark.all_dates  # door and sales logic runs at each of the fixed instants


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def code_expecting(venue: DemoVenue, verdict: str, n: int = 0) -> str:
    return [c for c, v in venue.expected if v == verdict][n]


@pytest.fixture
def clock(demo_now: datetime) -> Clock:
    return Clock(demo_now)


@pytest.fixture
def service(demo_venue: tuple[Store, DemoVenue], clock: Clock) -> ScanningService:
    return scanning_service(demo_venue[0], "door-1", clock=clock)


def test_every_demo_code_gets_its_expected_verdict(
    demo_venue: tuple[Store, DemoVenue], service: ScanningService
) -> None:
    for code, expected in demo_venue[1].expected:
        assert service.scan(code, "main").verdict.code.value == expected, code


def test_admission_writes_checkin_and_outbox_in_one_go(
    demo_venue: tuple[Store, DemoVenue], service: ScanningService, db_path: Path
) -> None:
    code = code_expecting(demo_venue[1], "valid")
    result = service.scan(code, "main")
    assert result.verdict.code is VerdictCode.VALID
    assert rows(db_path, "select scan_id, movement, device_id, gate from checkins") == [
        (result.scan_id, "entry", "door-1", "main")
    ]
    ((event_id, kind, payload),) = rows(db_path, "select event_id, kind, payload from outbox")
    assert (event_id, kind) == (result.scan_id, "checkin")
    body = json.loads(payload)
    assert body["verdict"] == "valid" and body["ticket_id"] == result.verdict.ticket.ticket_id  # type: ignore[union-attr]
    assert "holder_name" not in payload and "Müller" not in payload  # no PII in what travels


def test_second_scan_reads_already_used_with_first_use(
    demo_venue: tuple[Store, DemoVenue], service: ScanningService, clock: Clock, db_path: Path
) -> None:
    code = code_expecting(demo_venue[1], "valid")
    first = service.scan(code, "main")
    clock.advance(60)
    second = service.scan(code, "main")
    assert second.verdict.code is VerdictCode.ALREADY_USED
    assert second.verdict.first_use is not None and second.verdict.first_use.at == first.scanned_at
    assert rows(db_path, "select verdict from failed_scans") == [("already_used",)]
    assert rows(db_path, "select kind from outbox order by seq") == [("checkin",), ("failed_scan",)]


def test_debounce_returns_first_verdict_without_second_checkin(
    demo_venue: tuple[Store, DemoVenue], service: ScanningService, clock: Clock, db_path: Path
) -> None:
    code = code_expecting(demo_venue[1], "valid")
    first = service.scan(code, "main")
    clock.advance(1)
    again = service.scan(code, "main")
    assert again.repeated and again.verdict == first.verdict and again.scan_id == first.scan_id
    assert rows(db_path, "select count(*) from checkins") == [(1,)]
    assert rows(db_path, "select count(*) from outbox") == [(1,)]
    clock.advance(5)  # the code left the view and came back: a new scan
    assert service.scan(code, "main").verdict.code is VerdictCode.ALREADY_USED


def test_exit_and_reentry(demo_venue: tuple[Store, DemoVenue], service: ScanningService, clock: Clock) -> None:
    code = code_expecting(demo_venue[1], "valid")
    assert service.scan(code, "main").verdict.code is VerdictCode.VALID
    clock.advance(600)
    assert service.scan(code, "main", Direction.EXIT).verdict.code is VerdictCode.EXIT_RECORDED
    clock.advance(600)
    back = service.scan(code, "main").verdict
    assert (back.code, back.detail) == (VerdictCode.VALID, "reentry")


def test_peer_admission_makes_already_used(
    demo_venue: tuple[Store, DemoVenue], service: ScanningService, clock: Clock
) -> None:
    code = code_expecting(demo_venue[1], "valid")
    other = scanning_service(demo_venue[0], "door-2", clock=clock)
    assert other.scan(code, "main").verdict.admitted
    clock.advance(30)
    verdict = service.scan(code, "main").verdict
    assert verdict.code is VerdictCode.ALREADY_USED and verdict.first_use.device_id == "door-2"  # type: ignore[union-attr]


JUNK = [
    "",
    b"\x00" * 10,
    bytes(range(256)) * 16,
    b"\xc3\x28\xff",
    "\x1b[2J\x07",
    "'; DROP TABLE checkins; --",
    "🎟️🎟️🎟️",
    "\u202eKCITET\u202c",
    "K1" + "Z" * 140,
    "K1",
    "x" * 4096,
]


@pytest.mark.parametrize("raw", JUNK, ids=range(len(JUNK)))
def test_junk_gets_a_verdict_and_a_bounded_failed_scan(
    service: ScanningService, clock: Clock, db_path: Path, raw: str | bytes
) -> None:
    result = service.scan(raw, "main")
    assert result.verdict.code in (VerdictCode.UNKNOWN, VerdictCode.INVALID_SIGNATURE)
    ((prefix,),) = rows(db_path, "select text_prefix from failed_scans")
    assert len(str(prefix)) <= 64
    assert rows(db_path, "select count(*) from checkins") == [(0,)]
    assert rows(db_path, "select count(*) from tickets")[0][0] > 0  # the SQL-looking text did nothing


def test_tampered_and_foreign_codes(demo_venue: tuple[Store, DemoVenue], service: ScanningService) -> None:
    venue = demo_venue[1]
    plain = next(c for c, _ in venue.expected if not c.startswith("K1"))
    signed = [c for c, _ in venue.expected if c.startswith("K1")]
    for code in signed[:5]:
        pos = len(code) // 3
        bad = code[:pos] + ("7" if code[pos] != "7" else "8") + code[pos + 1 :]
        verdict = service.scan(bad, "main").verdict
        assert verdict.code in (VerdictCode.INVALID_SIGNATURE, VerdictCode.UNKNOWN), bad
    assert service.scan(plain + "X", "main").verdict.code is VerdictCode.UNKNOWN
    assert service.scan(signed[0] + "X", "main").verdict.code is VerdictCode.INVALID_SIGNATURE


def test_catalog_change_is_picked_up_without_restart(
    demo_venue: tuple[Store, DemoVenue], service: ScanningService
) -> None:
    from sqlalchemy import update

    from kiosk.adapters.store.repositories import CATALOG_VERSION_KEY, set_meta

    vip = code_expecting(demo_venue[1], "not_on_this_list")
    assert service.scan(vip, "main").verdict.code is VerdictCode.NOT_ON_THIS_LIST
    with demo_venue[0].write() as conn:  # central moves the main gate to the VIP list
        conn.execute(update(t.checkin_lists).where(t.checkin_lists.c.gate == "vip").values(gate=None))
        conn.execute(update(t.checkin_lists).where(t.checkin_lists.c.gate == "main").values(gate="vip"))
        conn.execute(update(t.checkin_lists).where(t.checkin_lists.c.id == 2).values(gate="main"))
        set_meta(conn, CATALOG_VERSION_KEY, "v2")
    service._recent.clear()
    assert service.scan(vip, "main").verdict.code is VerdictCode.VALID


def test_a_failed_write_leaves_nothing_half_done(
    demo_venue: tuple[Store, DemoVenue], clock: Clock, db_path: Path
) -> None:
    # The same scan id twice: the second outbox insert fails, so its check-in must not stay either.
    service = scanning_service(demo_venue[0], "door-1", clock=clock, new_id=lambda: "fixed-id")
    codes = [c for c, v in demo_venue[1].expected if v == "valid"]
    service.scan(codes[0], "main")
    with pytest.raises(Exception, match="UNIQUE"):
        service.scan(codes[1], "main")
    assert rows(db_path, "select count(*) from checkins") == [(1,)]
    assert rows(db_path, "select count(*) from outbox") == [(1,)]


def test_full_disk_is_a_clear_error_and_loses_nothing(
    demo_venue: tuple[Store, DemoVenue], clock: Clock, db_path: Path
) -> None:
    store = demo_venue[0]
    service = scanning_service(store, "door-1", clock=clock)
    codes = [c for c, v in demo_venue[1].expected if v == "valid"]
    service.scan(codes[0], "main")
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    # Cap the file at its current size on every pooled connection: the next write finds the "disk" full.
    for _ in range(3):
        with store.engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA max_page_count={pages}")
    with pytest.raises(StoreError, match="disk is full"):
        for i, code in enumerate(codes[1:40]):
            clock.advance(10)
            service.scan(code, "main")
            service.scan("junk-" + "x" * 60 + str(i), "main")
    assert rows(db_path, "select count(*) from checkins")[0][0] >= 1
    assert rows(db_path, "select count(*) from outbox") == [
        (
            rows(db_path, "select count(*) from checkins")[0][0]
            + rows(db_path, "select count(*) from failed_scans")[0][0],
        )
    ]


def test_missing_and_corrupt_database_files(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database here"):
        open_store(tmp_path / "absent.sqlite")
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="corrupt or not a kiosk database"):
        open_store(corrupt)
