"""`kiosk import-tickets`: a ticket list into the store, with progress (rows, rate, ETA) and a JSON summary."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kiosk.adapters.store.engine import StoreError, open_store
from kiosk.cli.output import CliError, emit
from kiosk.compose_services import import_tickets
from kiosk.services.ticket_import import MAX_REPORTED, ImportFileError, ImportProgress

EVERY_ROWS = 10_000  # when piped: a progress line each time the row count passes a multiple of this...
EVERY_S = 2.0  # ...or after this long without one
REDRAW_S = 0.2  # on a terminal: the line is redrawn at most this often

EPILOG = f"""\
The file: CSV with a header row, or JSON lines (one object per line: .jsonl, .ndjson or .json, or a first line
starting with "{{"). UTF-8 only; a byte-order mark (Excel's "CSV UTF-8") is skipped. The CSV delimiter is read from
the header line: "," or ";" (Excel in Swiss locales) or a tab. Every row is one line: a quoted field cannot hold a
line break, so a quote left open is refused on its own line and the next line is read as a new row. Blank lines,
and lines of delimiters only, are skipped.

Columns (CSV header names or JSON keys; others are ignored):
  code             required: the text of the ticket's barcode (no control characters, no spaces at the ends)
  event_id         required, integer
  tariff_id        required, integer
  ticket_id        integer below 2^63; default: derived from the code (the same id on every device)
  performance_id   integer
  pass_id          integer
  valid_from       ISO 8601 time (2026-11-28T18:00:00+01:00)
  valid_until      ISO 8601 time, not before valid_from
  entries_allowed  1 to 255 (default 1)
  holder_name      text, at most 200 characters
  status           valid (default) or cancelled
  order_ref        text (cut at 64 characters)

Rows are upserted by ticket id in one transaction: the good rows are imported together, or nothing at all when
the file cannot be read as a whole; importing the same file again changes nothing.

Output: stdout is one JSON object, the summary: file, format (csv|jsonl), delimiter, rows, imported, rejected,
rejections (the first {MAX_REPORTED}: line, reason, ticket_id when known), seconds. Ids are JSON strings, so jq and
JavaScript do not round 64-bit ids. Progress (rows, rate, time left) goes to stderr: one line redrawn on a
terminal; when piped, a line every {EVERY_ROWS} rows or {EVERY_S:g} s and one at the end (--quiet: none).
With --json a file error is also one JSON object on stdout, {{"error": {{"reason", "message", "file", "line"}}}},
instead of a "kiosk: ..." line on stderr, and each progress line is a JSON object {{"progress": {{...}}}}.

Exit codes:
  0    every row imported
  1    nothing imported: the file cannot be read (missing, empty, not UTF-8, no header) or the store failed
  2    bad command line
  3    some rows were refused (listed in the summary); all the others were imported
  130  interrupted: nothing imported
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import-tickets",
        help="import a ticket list (CSV with header, or JSON lines)",
        description="Import a ticket list into the device store.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", required=True, type=Path, metavar="PATH", help="the device store (SQLite)")
    p.add_argument("--json", action="store_true", help="errors and progress as JSON too (the summary always is)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("file", type=Path, help="the ticket list: CSV with a header row, or JSON lines")
    p.set_defaults(func=cmd_import)


def _n(number: int) -> str:
    return f"{number:,}".replace(",", "'")  # 12'345, as Swiss technicians write it


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class ProgressReport:
    """Rows done, rate and time left, on `stream`. On a terminal one line redrawn in place; otherwise a line each
    time the row count passes a multiple of `every_rows`, or after `every_s` of `monotonic` without one, and a
    last line at the end (tests count rows, never seconds: the time rule only adds lines)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        tty: bool,
        as_json: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        every_rows: int = EVERY_ROWS,
        every_s: float = EVERY_S,
    ) -> None:
        self.stream, self.tty, self.as_json = stream, tty, as_json
        self.monotonic, self.every_rows, self.every_s = monotonic, every_rows, every_s
        self.started = monotonic()
        self._last_at: float | None = None
        self._last_rows = 0
        self.drawn = False  # a terminal line without its newline yet

    def __call__(self, p: ImportProgress) -> None:
        now = self.monotonic()
        if not p.finished and self._last_at is not None:
            since = now - self._last_at
            if self.tty:
                due = since >= REDRAW_S
            else:
                due = p.rows // self.every_rows > self._last_rows // self.every_rows or since >= self.every_s
            if not due:
                return
        self._last_at, self._last_rows = now, p.rows
        self._write(p, now - self.started)

    def figures(self, p: ImportProgress, elapsed: float) -> dict[str, Any]:
        rate = p.rows / elapsed if elapsed > 0 else None
        eta = 0.0 if p.finished else (elapsed * (p.bytes_total - p.bytes_done) / p.bytes_done if p.bytes_done else None)
        percent = 100 * p.bytes_done // p.bytes_total if p.bytes_total else 100
        return {
            "rows": p.rows,
            "bytes_done": p.bytes_done,
            "bytes_total": p.bytes_total,
            "percent": percent,
            "rows_per_s": round(rate) if rate is not None else None,
            "eta_s": round(eta, 1) if eta is not None else None,
            "elapsed_s": round(elapsed, 1),
            "done": p.finished,
        }

    def _write(self, p: ImportProgress, elapsed: float) -> None:
        f = self.figures(p, elapsed)
        if self.as_json and not self.tty:
            self.stream.write(json.dumps({"progress": f}) + "\n")
            self.stream.flush()
            return
        rate = f"{_n(f['rows_per_s'])} rows/s" if f["rows_per_s"] is not None else "- rows/s"
        if p.finished:
            text = f"import: {_n(p.rows)} rows read in {_duration(elapsed)} ({rate})"
        else:
            left = _duration(f["eta_s"]) if f["eta_s"] is not None else "?"
            text = f"import: {_n(p.rows)} rows, {f['percent']}%, {rate}, about {left} left"
        if self.tty:
            self.stream.write("\r" + text.ljust(70) + ("\n" if p.finished else ""))
            self.drawn = not p.finished
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _error(args: argparse.Namespace, exc: ImportFileError | StoreError) -> int:
    if not args.json:
        raise CliError(str(exc)) from exc
    line = exc.line if isinstance(exc, ImportFileError) else None
    emit({"error": {"reason": exc.reason, "message": str(exc), "file": str(args.file), "line": line}})
    return 1


def cmd_import(args: argparse.Namespace) -> int:
    report = None if args.quiet else ProgressReport(sys.stderr, tty=sys.stderr.isatty(), as_json=args.json)
    try:
        store = open_store(args.db)
    except StoreError as exc:
        return _error(args, exc)
    try:
        summary = import_tickets(store, args.file, report)
    except (ImportFileError, StoreError) as exc:
        return _error(args, exc)
    finally:
        store.close()
        if report is not None and report.drawn:  # an error or ^C cut the terminal line: end it first
            sys.stderr.write("\n")
    emit(
        {
            "file": str(args.file),
            "format": summary.format,
            "delimiter": summary.delimiter,
            "rows": summary.rows,
            "imported": summary.imported,
            "rejected": summary.rejected,
            "rejections": summary.rejections,
            "seconds": summary.seconds,
        }
    )
    return 0 if summary.rejected == 0 else 3
