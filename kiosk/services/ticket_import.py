"""Import a ticket list (CSV with a header row, or JSON lines) into the store in one transaction.

Good rows are applied all together or not at all; bad rows are skipped and reported with their line number, so
a technician can fix the export and import again (imports are idempotent: rows are upserted by ticket id).
A file that cannot be read as a whole (missing, not UTF-8, no header) imports nothing.

Every row is one line: CSV fields may be quoted but never hold a line break, so a quote left open is reported on
its own line and the rows after it are still read (a CSV reader would otherwise swallow them into one field).
The CSV delimiter is taken from the header line (`,`, `;` as Excel writes it in Swiss locales, or a tab), and a
UTF-8 byte-order mark (Excel's "CSV UTF-8") is skipped.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from kiosk.domain.errors import KioskError
from kiosk.domain.model import TicketRecord
from kiosk.domain.ticket_rows import RowError, parse_ticket_row
from kiosk.services.ports import StorePort, TicketRepository

BATCH = 5000
MAX_REPORTED = 100
PROGRESS_EVERY = 1000  # lines between two progress calls: cheap enough, and often enough for a 2 s report
DELIMITERS = (",", ";", "\t")
BOM = b"\xef\xbb\xbf"
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class ImportProgress:
    rows: int  # data lines read so far (header and blank lines not counted)
    bytes_done: int
    bytes_total: int

    @property
    def finished(self) -> bool:
        return self.bytes_done >= self.bytes_total


Progress = Callable[[ImportProgress], None]


@dataclass
class ImportSummary:
    imported: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    rows: int = 0
    format: str = "csv"
    delimiter: str | None = None

    def reject(self, line: int, reason: str, ticket_id: int | None = None) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REPORTED:
            entry: dict[str, Any] = {"line": line, "reason": reason}
            if ticket_id is not None:
                entry["ticket_id"] = str(ticket_id)  # 63-bit: a JSON number would be rounded by jq or JavaScript
            self.rejections.append(entry)


class ImportFileError(KioskError):
    """The file as a whole cannot be read (missing, unreadable, not UTF-8, no header): nothing is imported."""

    reason = "import_file_unreadable"

    def __init__(self, message: str, *, reason: str | None = None, line: int | None = None) -> None:
        super().__init__(message, reason=reason)
        self.line = line


UNTERMINATED = (
    'unterminated quote: a " opened on this line is not closed before the line ends '
    "(a field cannot hold a line break; the next line is read as a new row)"
)


class _OneLine:
    """Feeds a csv reader one physical line per row. A quote still open at the line's end makes the reader ask
    for more: that is recorded (`asked_more`), and the reader gets nothing, so the next row stays its own."""

    def __init__(self) -> None:
        self.line: str | None = None
        self.asked_more = False

    def __iter__(self) -> _OneLine:
        return self

    def __next__(self) -> str:
        if self.line is None:
            self.asked_more = True
            raise StopIteration
        line, self.line = self.line, None
        return line


def _lines(raw: BinaryIO, path: Path, read: list[int]) -> Iterator[tuple[int, str]]:
    """(line number, text) of each physical line; `read[0]` counts the bytes consumed. Decoded line by line so
    that a byte that is not UTF-8 is reported with its line."""
    number = 0
    for chunk in raw:  # split at \n; a lone \r (old Mac exports) is split below
        read[0] += len(chunk)
        pieces: Iterable[bytes] = (chunk,)
        if b"\r" in chunk and not (chunk.endswith(b"\r\n") and chunk.count(b"\r") == 1):
            pieces = chunk.splitlines(keepends=True)
        for piece in pieces:
            number += 1
            skip = len(BOM) if number == 1 and piece.startswith(BOM) else 0
            try:
                text = piece[skip:].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"{path}: line {number}: not UTF-8 text (byte {exc.start + 1} of the line); nothing was "
                    'imported: save the list as UTF-8 (in Excel: "CSV UTF-8")',
                    reason="import_not_utf8",
                    line=number,
                ) from exc
            yield number, text


def _header(line: str, path: Path) -> tuple[str, list[str]]:
    """The delimiter that makes a header with a `code` column (the most columns if several do), and the names."""
    best: tuple[str, list[str]] | None = None
    for delimiter in DELIMITERS:
        names = [n.strip() for n in next(csv.reader([line], delimiter=delimiter), [])]
        if "code" in names and (best is None or len(names) > len(best[1])):
            best = (delimiter, names)
    if best is None:
        raise ImportFileError(
            f"{path}: line 1: CSV needs a header row with at least code, event_id, tariff_id "
            "(separated by , or ; or a tab)",
            reason="import_no_header",
            line=1,
        )
    return best


def _csv_rows(
    lines: Iterator[tuple[int, str]], first: tuple[int, str], path: Path, summary: ImportSummary
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    delimiter, names = _header(first[1], path)
    summary.delimiter = delimiter
    feed = _OneLine()
    reader = csv.reader(feed, delimiter=delimiter)
    blank = delimiter + " \t\r\n"
    for number, text in lines:
        if not text.strip(blank):
            continue  # a blank line, or only delimiters (Excel writes ";;;" for an empty row)
        if '"' not in text:  # no quoting: what the csv reader would make of it, at a fraction of the cost
            fields = text.rstrip("\r\n").split(delimiter)
        else:
            feed.line, feed.asked_more = text, False
            try:
                fields = next(reader, [])
            except csv.Error as exc:
                yield number, f"bad CSV: {exc}"
                continue
            if feed.asked_more:
                yield number, UNTERMINATED
                continue
        if len(fields) > len(names):
            yield number, "more fields than the header"
            continue
        yield number, dict(zip(names, fields, strict=False))


def _json_rows(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not JSON: {exc.msg}"
            continue
        yield number, obj if isinstance(obj, dict) else "not a JSON object"


def _rows(raw: BinaryIO, path: Path, summary: ImportSummary, read: list[int]) -> Iterator[tuple[int, Any]]:
    """(line number, row mapping or the reason it is unreadable) of every data line."""
    lines = _lines(raw, path, read)
    first = next(((n, t) for n, t in lines if t.strip()), None)
    if first is None:
        raise ImportFileError(f"{path}: the file is empty (no header row)", reason="import_empty")
    if path.suffix.lower() in JSON_SUFFIXES or first[1].lstrip().startswith("{"):
        summary.format = "jsonl"
        yield from _json_rows(iter([first]))
        yield from _json_rows(lines)
    else:
        yield from _csv_rows(lines, first, path, summary)


def import_tickets(
    store: StorePort,
    path: Path,
    progress: Progress | None = None,
    *,
    tickets: TicketRepository,
) -> ImportSummary:
    started = time.perf_counter()
    summary = ImportSummary()
    try:
        total = path.stat().st_size
        raw = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror}") from exc
    read = [0]
    with raw, store.write() as conn:
        owner_of_code = tickets.code_owners(conn)
        batch: list[TicketRecord] = []
        for number, row in _rows(raw, path, summary, read):
            summary.rows += 1
            record = _parse(number, row, owner_of_code, summary)
            if record is not None:
                batch.append(record)
            if len(batch) >= BATCH:
                summary.imported += tickets.upsert(conn, batch)
                batch.clear()
            if progress and summary.rows % PROGRESS_EVERY == 0:
                progress(ImportProgress(summary.rows, min(read[0], total - 1), total))
        summary.imported += tickets.upsert(conn, batch)
    if progress:
        progress(ImportProgress(summary.rows, total, total))
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _parse(
    number: int, row: dict[str, Any] | str, owner_of_code: dict[str | None, int], summary: ImportSummary
) -> TicketRecord | None:
    if isinstance(row, str):
        summary.reject(number, row)
        return None
    try:
        record = parse_ticket_row(row)
    except RowError as exc:
        summary.reject(number, str(exc))
        return None
    owner = owner_of_code.setdefault(record.code, record.ticket_id)
    if owner != record.ticket_id:
        summary.reject(number, f"code: already belongs to ticket {owner}", record.ticket_id)
        return None
    return record
