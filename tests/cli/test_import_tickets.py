"""`kiosk import-tickets` on the files technicians really get: Excel exports (BOM, `;`), a quote left open, a
20-digit id, bytes that are not UTF-8; errors as JSON, ids as strings, and progress when piped. Real processes on
a real SQLite store."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli.import_cmds import ProgressReport
from kiosk.services.ticket_import import ImportProgress
from tests.cli.test_store_cli import NOW, kiosk, lines

HEADER = "code;event_id;performance_id;tariff_id;holder_name;status"
MAX_ID = 2**63 - 1  # the largest ticket id: 19 digits, rounded by any float-based JSON reader


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("import") / "venue.sqlite"  # one store: every test uses its own codes
    made = kiosk("demo-data", "--db", str(path), "--tickets", "0", "--now", NOW, "--device", "door-1", "--venue", "v")
    assert made.returncode == 0, made.stderr
    return path


def verdicts(db: Path, *codes: str) -> list[object]:
    return [o["verdict"] for o in lines(kiosk("check", "--db", str(db), "--now", NOW, *codes).stdout)]


def test_an_excel_export_with_bom_semicolons_and_crlf_imports(db: Path, tmp_path: Path) -> None:
    export = tmp_path / "excel.csv"
    rows = [HEADER, "XL-1;1;12;101;Zoé Dubois;valid", "XL-2;1;12;101;;cancelled", ";;;;;", ""]
    export.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode("utf-8"))
    result = kiosk("import-tickets", "--db", str(db), str(export))
    assert result.returncode == 0, result.stderr
    summary = lines(result.stdout)[0]
    assert (summary["imported"], summary["rejected"], summary["delimiter"], summary["rows"]) == (2, 0, ";", 2)
    assert verdicts(db, "XL-1", "XL-2") == ["valid", "cancelled"]
    checked = lines(kiosk("check", "--db", str(db), "--now", NOW, "XL-2").stdout)[0]
    assert checked["holder_name"] is None

    tabs = tmp_path / "tabs.tsv"
    tabs.write_text(HEADER.replace(";", "\t") + "\nTAB-1\t1\t12\t101\tA, B\tvalid\n", "utf-8")
    summary = lines(kiosk("import-tickets", "--db", str(db), str(tabs)).stdout)[0]
    assert (summary["imported"], summary["delimiter"]) == (1, "\t")


def test_an_unterminated_quote_is_reported_on_its_line_and_swallows_no_row(db: Path, tmp_path: Path) -> None:
    listing = tmp_path / "quote.csv"
    listing.write_text(
        f"{HEADER}\n"
        'Q-1;1;12;101;"Dubois, Zoé";valid\n'
        'Q-2;1;12;101;"Anne;valid\n'  # line 3: the quote is never closed
        "Q-3;1;12;101;;valid\n"
        "Q-4;1;12;101;;valid\n"
        'Q-5;1;12;101;;"valid',  # line 6: open at the end of the file
        "utf-8",
    )
    result = kiosk("import-tickets", "--db", str(db), str(listing))
    assert result.returncode == 3, result.stderr
    summary = lines(result.stdout)[0]
    assert (summary["imported"], summary["rejected"]) == (3, 2)
    assert [r["line"] for r in summary["rejections"]] == [3, 6]  # type: ignore[index, union-attr]
    assert all(r["reason"].startswith("unterminated quote") for r in summary["rejections"])  # type: ignore[union-attr]
    assert verdicts(db, "Q-1", "Q-2", "Q-3", "Q-4", "Q-5") == ["valid", "unknown", "valid", "valid", "unknown"]


def test_empty_and_header_only_files(db: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\xef\xbb\xbf\r\n")
    result = kiosk("import-tickets", "--db", str(db), str(empty))
    assert result.returncode == 1 and b"empty" in result.stderr and b"Traceback" not in result.stderr
    header = tmp_path / "header.csv"
    header.write_text(HEADER + "\n", "utf-8")
    result = kiosk("import-tickets", "--db", str(db), str(header))
    assert result.returncode == 0 and lines(result.stdout)[0]["imported"] == 0


def test_64_bit_ids_stay_exact_and_a_20_digit_id_is_refused(db: Path, tmp_path: Path) -> None:
    listing = tmp_path / "ids.csv"
    listing.write_text(
        "ticket_id,code,event_id,performance_id,tariff_id\n"
        f"{MAX_ID},BIG-1,1,12,101\n"
        "12345678901234567890,BIG-2,1,12,101\n"  # 20 digits: beyond 64-bit signed
        "77,BIG-1,1,12,101\n",  # the code already belongs to the first ticket
        "utf-8",
    )
    result = kiosk("import-tickets", "--db", str(db), str(listing))
    assert result.returncode == 3
    raw = result.stdout.decode()
    summary = json.loads(raw, parse_int=float)  # as jq or JavaScript read numbers
    first, second = summary["rejections"]
    assert first["line"] == 3 and "out of range" in first["reason"]
    assert second["ticket_id"] == "77" and str(MAX_ID) in second["reason"]
    checked = json.loads(kiosk("check", "--db", str(db), "--now", NOW, "BIG-1").stdout, parse_int=float)
    assert checked["verdict"] == "valid" and checked["ticket_id"] == str(MAX_ID)


def test_bytes_that_are_not_utf8_name_their_line_and_import_nothing(db: Path, tmp_path: Path) -> None:
    cp1252 = tmp_path / "ansi.csv"
    cp1252.write_bytes(f"{HEADER}\nOK-1;1;12;101;;valid\n".encode() + "ZO-2;1;12;101;Zoé;valid\n".encode("cp1252"))
    result = kiosk("import-tickets", "--db", str(db), str(cp1252))
    assert result.returncode == 1 and b"line 3: not UTF-8" in result.stderr and b"CSV UTF-8" in result.stderr
    assert result.stdout == b""
    assert verdicts(db, "OK-1") == ["unknown"]  # the good row before it was not committed either

    result = kiosk("import-tickets", "--db", str(db), "--json", str(cp1252))
    assert result.returncode == 1 and b"kiosk:" not in result.stderr
    (error,) = lines(result.stdout)
    assert error["error"]["reason"] == "import_not_utf8" and error["error"]["line"] == 3  # type: ignore[index]


def test_json_errors_for_a_missing_store_or_file_and_no_demo_data_advice(db: Path, tmp_path: Path) -> None:
    result = kiosk("import-tickets", "--db", str(tmp_path / "device.sqlite"), "--json", str(tmp_path / "x.csv"))
    (error,) = lines(result.stdout)
    assert result.returncode == 1 and error["error"]["reason"] == "store_unavailable"  # type: ignore[index]
    assert "demo-data" not in result.stdout.decode() + result.stderr.decode()
    result = kiosk("import-tickets", "--db", str(tmp_path / "device.sqlite"), str(tmp_path / "x.csv"))
    assert b"no database here" in result.stderr and b"demo-data" not in result.stderr
    result = kiosk("import-tickets", "--db", str(db), "--json", str(tmp_path / "absent.csv"))
    (error,) = lines(result.stdout)
    assert error["error"]["reason"] == "import_file_unreadable" and "cannot read" in error["error"]["message"]  # type: ignore[index]


def test_help_documents_columns_output_and_exit_codes() -> None:
    result = kiosk("import-tickets", "--help")
    assert result.returncode == 0
    text = result.stdout.decode()
    for word in ("entries_allowed", "valid_until", "order_ref", "byte-order mark", '";"', "--json", "Exit codes"):
        assert word in text, word
    for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n  {code}" in text, code


def write_rows(path: Path, n: int) -> None:
    path.write_text(
        "code,event_id,performance_id,tariff_id\n" + "".join(f"P-{i:06d},1,12,101\n" for i in range(n)), "utf-8"
    )


def test_piped_progress_is_periodic_lines_on_stderr(db: Path, tmp_path: Path) -> None:
    listing = tmp_path / "many.csv"
    write_rows(listing, 25_000)
    result = kiosk("import-tickets", "--db", str(db), str(listing))
    assert result.returncode == 0, result.stderr
    shown = result.stderr.decode().splitlines()
    # A line at each 10'000 rows (more only when a batch took over 2 s), and the last one.
    assert any(x.startswith("import: 10'000 rows, ") and "rows/s" in x and " left" in x for x in shown), shown
    assert any(x.startswith("import: 20'000 rows, ") for x in shown), shown
    assert shown[-1].startswith("import: 25'000 rows read in ")
    assert lines(result.stdout)[0]["imported"] == 25_000

    result = kiosk("import-tickets", "--db", str(db), "--json", str(listing))
    progress = [json.loads(x)["progress"] for x in result.stderr.decode().splitlines()]
    assert {10_000, 20_000} <= {p["rows"] for p in progress}
    assert progress[-1]["done"] and progress[-1]["rows"] == 25_000 and progress[-1]["eta_s"] == 0
    assert lines(kiosk("import-tickets", "--db", str(db), "--quiet", str(listing)).stdout)[0]["imported"] == 25_000


def test_on_a_terminal_the_progress_line_is_redrawn_in_place(db: Path, tmp_path: Path) -> None:
    listing = tmp_path / "some.csv"
    write_rows(listing, 3000)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "kiosk", "import-tickets", "--db", str(db), str(listing)],
            stderr=follower, stdout=subprocess.PIPE, timeout=120, check=False,
        )  # fmt: skip
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert proc.returncode == 0
    assert seen.startswith(b"\rimport: 1'000 rows, ") and seen.rstrip().split(b"\r")[-1].startswith(
        b"import: 3'000 rows read in "
    ), seen
    assert seen.count(b"\n") == 1 and seen.endswith(b"\n")


def test_rate_and_time_left_come_from_the_injected_clock() -> None:
    now = [100.0]
    out = io.StringIO()
    report = ProgressReport(out, tty=False, monotonic=lambda: now[0], every_rows=10_000, every_s=2.0)
    now[0] = 101.0
    report(ImportProgress(1000, 250, 1000))  # the first call always shows
    now[0] = 102.0
    report(ImportProgress(2000, 500, 1000))  # 1 s later, no multiple of 10'000 passed: nothing
    now[0] = 103.5
    report(ImportProgress(3000, 750, 1000))  # 2.5 s since the last line: shown
    now[0] = 104.0
    report(ImportProgress(4000, 1000, 1000))  # the end: always shown
    assert out.getvalue().splitlines() == [
        "import: 1'000 rows, 25%, 1'000 rows/s, about 0:03 left",
        "import: 3'000 rows, 75%, 857 rows/s, about 0:01 left",
        "import: 4'000 rows read in 0:04 (1'000 rows/s)",
    ]
    figures = report.figures(ImportProgress(3000, 750, 1000), 3.5)
    assert (figures["rows_per_s"], figures["eta_s"], figures["percent"]) == (857, 1.2, 75)


def test_json_lines_ids_are_exact_integers_or_strings_never_floats(db: Path, tmp_path: Path) -> None:
    listing = tmp_path / "ids.jsonl"
    listing.write_bytes(
        b"\xef\xbb\xbf"
        + (
            f'{{"code": "JS-1", "event_id": 1, "performance_id": 12, "tariff_id": 101, "ticket_id": {MAX_ID - 1}}}\n'
            f'{{"code": "JS-2", "event_id": 1, "performance_id": 12, "tariff_id": 101, "ticket_id": "{MAX_ID - 2}"}}\n'
            '{"code": "JS-3", "event_id": 1, "tariff_id": 101, "ticket_id": 9007199254740993.0}\n'
            '{"code": "JS-4", "event_id": 1, "tariff_id": 101, "entries_allowed": 2.5}\n'
        ).encode()
    )
    result = kiosk("import-tickets", "--db", str(db), str(listing))
    summary = lines(result.stdout)[0]
    assert result.returncode == 3 and summary["format"] == "jsonl"
    assert [(r["line"], r["reason"].split(":")[0]) for r in summary["rejections"]] == [  # type: ignore[union-attr]
        (3, "ticket_id"),
        (4, "entries_allowed"),
    ]
    checked = lines(kiosk("check", "--db", str(db), "--now", NOW, "JS-1", "JS-2").stdout)
    assert [c["ticket_id"] for c in checked] == [str(MAX_ID - 1), str(MAX_ID - 2)]
