"""A refused QR-bill, vCard or AHV number leaves no personal data in the store file or the outbox (issue 11 #6)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from kiosk.adapters.store.engine import Store, open_store
from kiosk.adapters.store.migrate import alembic_config
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import DemoVenue
from kiosk.domain import events as ev
from kiosk.domain.scan_input import DIGEST_CHARS

QR_BILL = "\n".join(
    [
        "SPC", "0200", "1", "CH4431999123000889012", "S", "Robert Schneider AG", "Rue du Lac", "1268", "2501",
        "Biel", "CH", "", "", "", "", "", "", "", "1949.75", "CHF", "S", "Pia-Maria Rutschmann-Schnyder",
        "Grosse Marktgasse", "28", "9400", "Rorschach", "CH", "QRR", "210000000003139471430009017",
        "Auftrag vom 15.06.2020", "EPD",
    ]
)  # fmt: skip
VCARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Muster;Anna\r\nFN:Anna Muster\r\nTEL;TYPE=cell:+41 79 123 45 67\r\nEND:VCARD"
AHV = "756.9217.0769.85"
SECRETS = [
    "CH4431999123000889012", "Robert Schneider", "Rue du Lac", "Rutschmann", "Rorschach", "210000000003139471430009017",
    "Anna Muster", "Muster;Anna", "79 123 45 67", "756.9217", "9217.0769", "0769.85", "7569217",
]  # fmt: skip


def store_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


@pytest.mark.parametrize(
    "raw", [QR_BILL, VCARD, AHV, AHV.replace(".", "")], ids=["qr-bill", "vcard", "ahv", "ahv-bare"]
)
def test_personal_data_in_a_refused_scan_is_neither_stored_nor_sent(
    demo_venue: tuple[Store, DemoVenue], db_path: Path, frozen_now: datetime, raw: str
) -> None:
    store = demo_venue[0]
    service = scanning_service(store, "door-a", clock=lambda: frozen_now)
    result = service.scan(raw, "main", symbology="qr_code")
    assert not result.verdict.records_movement
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("select text_prefix, text_length, text_hash, symbology from failed_scans").fetchone()
        (payload,) = conn.execute("select payload from outbox where kind = 'failed_scan'").fetchone()
    prefix, length, digest, symbology = row
    assert length == len(raw.strip()) and len(digest) == DIGEST_CHARS and symbology == "qr_code"
    assert prefix == ("7569" if raw.isdigit() else "")  # a bare number looks like a list code: 4 digits, no more
    sent = json.loads(payload)
    assert sent["text_prefix"] == prefix and sent["text_hash"] == digest and sent["text_length"] == length
    ev.parse_event("failed_scan", result.scan_id, sent)  # central's validation accepts it
    store.close()  # every connection gone: the WAL is checkpointed into the file
    blob = store_bytes(db_path)
    for secret in SECRETS:
        assert secret.encode() not in blob, secret
        assert secret not in payload, secret


def test_equal_junk_gets_equal_hashes_within_a_run_and_none_across_keys(
    demo_venue: tuple[Store, DemoVenue], db_path: Path, frozen_now: datetime
) -> None:
    store = demo_venue[0]
    one = scanning_service(store, "door-a", clock=lambda: frozen_now, debounce=timedelta(0))
    other = scanning_service(store, "door-a", clock=lambda: frozen_now, debounce=timedelta(0))
    one.scan(VCARD, "main")
    one.scan(VCARD, "main")
    other.scan(VCARD, "main")
    with sqlite3.connect(db_path) as conn:
        hashes = [h for (h,) in conn.execute("select text_hash from failed_scans order by rowid")]
    assert hashes[0] == hashes[1] != hashes[2]  # the second service has its own in-memory key


def test_old_rows_and_events_lose_their_text_in_the_migration(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    store = open_store(db, create=True, migrate=False)
    cfg = alembic_config()
    at = "2026-12-07T02:00:00.000000Z"
    old = {"v": 1, "scan_id": "s1", "device_id": "door-a", "gate": "main", "verdict": "unknown", "scanned_at": at}
    old["text_prefix"] = QR_BILL.replace("\n", "?")[:64]
    with store.engine.connect() as conn:  # the schema as it was before 0006_scan_privacy
        cfg.attributes["connection"] = conn
        for revision in ("0001", "0002_printing", "0003_sync", "0004_sales", "0005_identity"):
            command.upgrade(cfg, revision)
        conn.commit()
        conn.exec_driver_sql(
            "INSERT INTO failed_scans (scan_id, text_prefix, verdict, scanned_at, device_id, gate)"
            " VALUES ('s1', ?, 'unknown', ?, 'door-a', 'main')",
            (old["text_prefix"], at),
        )
        body = json.dumps(old)
        conn.exec_driver_sql(
            "INSERT INTO outbox (event_id, kind, occurred_at, payload) VALUES ('s1', 'failed_scan', ?, ?)", (at, body)
        )
        conn.exec_driver_sql(
            "INSERT INTO dead_letters (event_id, seq, kind, payload, reason, rejected_at)"
            " VALUES ('s1', 1, 'failed_scan', ?, 'x', ?)",
            (body, at),
        )
        conn.commit()
    store.close()
    assert b"Robert Schneider" in store_bytes(db)
    open_store(db).close()
    blob = store_bytes(db)
    for secret in ("CH4431999123000889012", "Robert Schneider"):
        assert secret.encode() not in blob, secret
    with sqlite3.connect(db) as conn:
        assert conn.execute("select text_prefix, text_length from failed_scans").fetchall() == [("", None)]
        for (payload,) in conn.execute("select payload from outbox union all select payload from dead_letters"):
            assert json.loads(payload) == {**old, "text_prefix": ""}


def test_the_camera_pipeline_gives_the_decoders_symbology_to_the_trace(
    demo_venue: tuple[Store, DemoVenue], db_path: Path, frozen_now: datetime
) -> None:
    import numpy as np

    from kiosk.adapters.camera import FakeFrameSource
    from kiosk.adapters.decoder import FakeDecoder
    from kiosk.services.scanner_pipeline import ScanEvent, ScannerPipeline

    service = scanning_service(demo_venue[0], "door-a", clock=lambda: frozen_now)
    events: list[ScanEvent] = []
    source = FakeFrameSource([np.zeros((16, 16), np.uint8)])
    decoder = FakeDecoder([[VCARD]], fmt="qr_code")
    pipeline = ScannerPipeline(source, decoder, service.scan, events.append, scan_symbology=service.scan)
    pipeline.start()
    try:
        assert pipeline.wait_done(10)
    finally:
        pipeline.stop()
    assert [e.error for e in events] == [None]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select symbology, text_prefix from failed_scans").fetchall() == [("qr_code", "")]
