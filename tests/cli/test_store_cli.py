"""The headless CLI as technicians and scripts use it: real processes, JSON out, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOW = "2026-11-28T18:00:00Z"


def kiosk(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args], input=stdin, capture_output=True, timeout=120, check=False
    )


def lines(out: bytes) -> list[dict[str, object]]:
    return [json.loads(x) for x in out.decode().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("cli")
    db, codes = d / "venue.sqlite", d / "codes.tsv"
    result = kiosk(
        "demo-data", "--db", str(db), "--tickets", "80", "--seed", "5", "--codes-out", str(codes), "--now", NOW,
        "--device", "door-9", "--venue", "lac",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = lines(result.stdout)[0]
    assert summary["tickets"] == 81  # 80 list tickets and the season pass
    assert (summary["device_id"], summary["venue_id"]) == ("door-9", "lac")
    keys = Path(str(summary["issuer_keys_file"]))
    assert keys.stat().st_mode & 0o777 == 0o600
    return db, codes


def test_check_reads_stdin_and_matches_every_expected_verdict(demo_db: tuple[Path, Path]) -> None:
    db, codes = demo_db
    pairs = [line.split("\t") for line in codes.read_text("utf-8").splitlines()]
    # Whole "CODE<TAB>verdict" lines are not codes: a tab inside is junk, so nothing gets admitted here.
    result = kiosk("check", "--db", str(db), "--now", NOW, "--device", "door-9", stdin=codes.read_bytes())
    assert result.returncode == 0, result.stderr
    assert {o["verdict"] for o in lines(result.stdout)} == {"unknown"}
    result = kiosk("check", "--db", str(db), "--now", NOW, stdin="\n".join(c for c, _ in pairs).encode())
    out = lines(result.stdout)
    assert len(out) == len(pairs)
    assert [o["verdict"] for o in out] == [v for _, v in pairs]


def test_check_records_exactly_as_the_ui_would(demo_db: tuple[Path, Path], tmp_path: Path) -> None:
    db, codes = demo_db
    code = next(c for c, v in (x.split("\t") for x in codes.read_text().splitlines()) if v.strip() == "valid")
    again = lines(kiosk("check", "--db", str(db), "--now", NOW, code).stdout)[0]
    assert again["verdict"] == "already_used"
    assert again["first_use"]["device_id"] == "door-9"  # type: ignore[index]  (the store's, not a default)
    out = lines(kiosk("check", "--db", str(db), "--now", NOW, "--exit", code).stdout)[0]
    assert out["verdict"] == "exit_recorded"


def test_check_survives_binary_junk_on_stdin(demo_db: tuple[Path, Path]) -> None:
    db, _ = demo_db
    junk = (
        b"\xff\xfe\x00garbage\n"
        + bytes(b for b in range(1, 256) if b not in b"\r\n")
        + b"\n"
        + b"A" * 4096
        + b"\n'; DROP TABLE tickets;--\n"
    )
    result = kiosk("check", "--db", str(db), "--now", NOW, stdin=junk)
    assert result.returncode == 0, result.stderr
    assert [o["verdict"] for o in lines(result.stdout)] == ["unknown"] * 4


def test_check_on_a_missing_or_corrupt_database_is_a_clear_message(tmp_path: Path) -> None:
    result = kiosk("check", "--db", str(tmp_path / "nope.sqlite"), "X")
    assert result.returncode == 1 and b"no database here" in result.stderr and b"Traceback" not in result.stderr
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(os.urandom(8192))
    result = kiosk("check", "--db", str(bad), "X")
    assert result.returncode == 1 and b"corrupt" in result.stderr and b"Traceback" not in result.stderr


def test_import_csv_and_jsonl_with_a_summary_of_rejected_rows(demo_db: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = demo_db
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        "code,event_id,performance_id,tariff_id,holder_name,status\n"
        "IMPORT-0001,1,12,101,Zoé Dubois,valid\n"
        "IMPORT-0002,1,12,101,,cancelled\n"
        ",1,12,101,,valid\n"  # line 4: no code
        "IMPORT-0003,one,12,101,,valid\n"  # line 5: bad event id
        "IMPORT-0004,1,12,101,,lost\n"  # line 6: bad status
        "IMPORT-0001,1,12,102,,valid\n",  # line 7: same code again (same derived id: an update)
        "utf-8",
    )
    result = kiosk("import-tickets", "--db", str(db), str(csv_file))
    summary = lines(result.stdout)[0]
    assert result.returncode == 3
    assert summary["imported"] == 3 and summary["rejected"] == 3
    assert [r["line"] for r in summary["rejections"]] == [4, 5, 6]  # type: ignore[index, union-attr]
    assert "event_id" in summary["rejections"][1]["reason"]  # type: ignore[index]

    checked = lines(kiosk("check", "--db", str(db), "--now", NOW, "IMPORT-0001", "IMPORT-0002").stdout)
    assert [c["verdict"] for c in checked] == ["valid", "cancelled"]
    assert checked[0]["tariff"] == "Reduced (senior/student)"  # the later row won

    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text(
        '{"code": "J-1", "event_id": 2, "performance_id": 21, "tariff_id": 201, "ticket_id": 555}\n'
        "not json\n"
        '{"code": "J-2", "event_id": 2, "performance_id": 21, "tariff_id": 201, "ticket_id": 555}\n'
        '{"code": "IMPORT-0002", "event_id": 2, "tariff_id": 201, "ticket_id": 556}\n'
        "[1, 2]\n",
        "utf-8",
    )
    summary = lines(kiosk("import-tickets", "--db", str(db), str(jsonl)).stdout)[0]
    assert summary["imported"] == 2 and summary["rejected"] == 3
    reasons = [r["reason"] for r in summary["rejections"]]  # type: ignore[union-attr]
    assert reasons[0].startswith("not JSON") and "already belongs" in reasons[1] and "object" in reasons[2]


def test_import_refuses_unreadable_files_without_partial_writes(demo_db: tuple[Path, Path], tmp_path: Path) -> None:
    db, _ = demo_db
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("code,event_id,tariff_id\nOK-1,1,101\nZO\xc9,1,101\n".encode("latin-1"))
    result = kiosk("import-tickets", "--db", str(db), str(latin1))
    assert result.returncode == 1 and b"not UTF-8" in result.stderr
    assert lines(kiosk("check", "--db", str(db), "--now", NOW, "OK-1").stdout)[0]["verdict"] == "unknown"
    headerless = tmp_path / "x.csv"
    headerless.write_text("A,1,2\n")
    assert b"header" in kiosk("import-tickets", "--db", str(db), str(headerless)).stderr
    assert b"cannot read" in kiosk("import-tickets", "--db", str(db), str(tmp_path / "absent.csv")).stderr


def test_headless_demo_runs() -> None:
    result = kiosk("demo", "--headless")
    assert result.returncode == 0, result.stderr
    out = lines(b"\n".join(x for x in result.stdout.splitlines() if x.startswith(b"{")))
    assert all(o["verdict"] == o["expected"] for o in out)
    assert {o["verdict"] for o in out} >= {"valid", "already_used", "invalid_signature", "unknown"}
