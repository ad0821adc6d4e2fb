"""Import a ticket list (CSV with a header row, or JSON lines) into the store in one transaction.

Good rows are applied all together or not at all; bad rows are skipped and reported with their line number, so
a technician can fix the export and import again (imports are idempotent: rows are upserted by ticket id).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.domain.errors import KioskError
from kiosk.domain.model import TicketRecord
from kiosk.domain.ticket_rows import RowError, parse_ticket_row
from kiosk.services.ports import StorePort, TicketRepository

BATCH = 5000
MAX_REPORTED = 100

Progress = Callable[[int, int], None]  # (bytes read, total bytes)


@dataclass
class ImportSummary:
    imported: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REPORTED:
            self.rejections.append({"line": line, "reason": reason})


class ImportFileError(KioskError):
    """The file as a whole cannot be read (missing, unreadable, no header)."""

    reason = "import_file_unreadable"


def _rows(fh: io.TextIOWrapper, path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row mapping or the reason it is unreadable)."""
    first = fh.readline()
    fh.seek(0)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json") or first.lstrip().startswith("{"):
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg}"
                continue
            yield number, obj if isinstance(obj, dict) else "not a JSON object"
        return
    reader = csv.DictReader(fh)
    if not reader.fieldnames or "code" not in reader.fieldnames:
        raise ImportFileError(f"{path}: CSV needs a header row with at least code, event_id, tariff_id")
    for row in reader:
        if None in row:
            yield reader.line_num, "more fields than the header"
            continue
        yield reader.line_num, row


def import_tickets(
    store: StorePort, path: Path, progress: Progress | None = None, *, tickets: TicketRepository
) -> ImportSummary:
    started = time.perf_counter()
    summary = ImportSummary()
    try:
        total = path.stat().st_size
        raw = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror}") from exc
    with raw, io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="") as fh, store.write() as conn:
        owner_of_code = tickets.code_owners(conn)
        batch: list[TicketRecord] = []
        try:
            for number, row in _rows(fh, path):
                record = _parse(number, row, owner_of_code, summary)
                if record is not None:
                    batch.append(record)
                if len(batch) >= BATCH:
                    summary.imported += tickets.upsert(conn, batch)
                    batch.clear()
                    if progress:
                        progress(raw.tell(), total)
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"{path}: not UTF-8 text near byte {exc.start}; nothing was imported") from exc
        summary.imported += tickets.upsert(conn, batch)
    if progress:
        progress(total, total)
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
        summary.reject(number, f"code: already belongs to ticket {owner}")
        return None
    return record
