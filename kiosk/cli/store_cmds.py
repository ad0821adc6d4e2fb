"""Headless store commands: `demo-data`, `check`, `import-tickets` (JSON out, for technicians and scripts)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.adapters.store.engine import Store, StoreError, open_store
from kiosk.cli.output import CliError, emit
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.model import Direction, pick_text
from kiosk.domain.timeutil import iso, parse_instant
from kiosk.services.scanning import ScanningService, ScanResult
from kiosk.services.ticket_import import ImportFileError, import_tickets


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo-data", help="create the demo venue (catalog, keys, tickets) in a database")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--tickets", type=int, default=200, help="number of list tickets (default 200)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--codes-out", type=Path, help="write 'CODE<TAB>expected verdict' lines here")
    p.add_argument("--now", type=parse_instant, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("check", help="scan codes at a gate and print one JSON verdict per code")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--gate", default="main")
    p.add_argument("--exit", action="store_true", help="record exits instead of entries")
    p.add_argument("--device", default="kiosk-cli", help="device id recorded with each scan")
    p.add_argument("--now", type=parse_instant, help=argparse.SUPPRESS)
    p.add_argument("codes", nargs="*", help="codes to check; none: read one per line from stdin")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("import-tickets", help="import a ticket list (CSV with header, or JSON lines)")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_import)


def _open(path: Path, create: bool = False) -> Store:
    try:
        return open_store(path, create=create)
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def cmd_demo_data(args: argparse.Namespace) -> int:
    if args.tickets < 0:
        raise CliError("--tickets must be 0 or more", 2)
    now: datetime = args.now or datetime.now(UTC)
    store = _open(args.db, create=True)
    try:
        venue = build_demo_venue(now, args.tickets, args.seed)
        keys_file = args.db.with_name(args.db.name + ".issuer-keys.json")
        install_demo_venue(store, venue, keys_file, now)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    if args.codes_out:
        args.codes_out.write_text("".join(f"{code}\t{verdict}\n" for code, verdict in venue.expected), "utf-8")
    emit(
        {
            "db": str(args.db),
            "tickets": len(venue.tickets),
            "codes": len(venue.expected),
            "catalog_version": venue.catalog.version,
            "issuer_keys_file": str(keys_file),
        }
    )
    return 0


def _codes_from(args: argparse.Namespace) -> Iterator[str | bytes]:
    if args.codes:
        yield from args.codes
        return
    # Read bytes: a scanner or a script may send anything, invalid UTF-8 included.
    for line in sys.stdin.buffer:
        stripped = line.rstrip(b"\r\n")
        if stripped:
            yield stripped


def verdict_json(result: ScanResult, code: str | bytes, lang: str = "en") -> dict[str, Any]:
    v = result.verdict
    shown = code.decode("utf-8", "replace") if isinstance(code, bytes) else code
    out: dict[str, Any] = {
        "code": shown[:200],
        "verdict": v.code.value,
        "detail": v.detail,
        "scan_id": result.scan_id,
        "scanned_at": iso(result.scanned_at),
        "gate": result.gate,
        "direction": result.direction.value,
        "repeated": result.repeated,
    }
    if v.ticket is not None:
        out["ticket_id"] = v.ticket.ticket_id
        out["performance_id"] = v.performance_id
    if v.display is not None:
        out["tariff"] = pick_text(v.display.tariff_name, lang)
        out["holder_name"] = v.display.holder_name
    if v.first_use is not None:
        out["first_use"] = {"at": iso(v.first_use.at), "device_id": v.first_use.device_id, "gate": v.first_use.gate}
    return out


def cmd_check(args: argparse.Namespace) -> int:
    store = _open(args.db)
    fixed_now: datetime | None = args.now
    clock = (lambda: fixed_now) if fixed_now else (lambda: datetime.now(UTC))
    # A fixed --now makes every scan land at the same instant; the debounce would then hide repeats.
    from datetime import timedelta

    service = ScanningService(
        store, args.device, clock=clock, debounce=timedelta(0) if fixed_now else timedelta(seconds=3)
    )
    direction = Direction.EXIT if args.exit else Direction.ENTRY
    try:
        for code in _codes_from(args):
            emit(verdict_json(service.scan(code, args.gate, direction), code))
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    return 0


def _progress_bar(done: int, total: int) -> None:
    if not sys.stderr.isatty() or total <= 0:
        return
    width = 40
    filled = width * done // total
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {100 * done // total:3d}%")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def cmd_import(args: argparse.Namespace) -> int:
    store = _open(args.db)
    try:
        summary = import_tickets(store, args.file, _progress_bar)
    except (ImportFileError, StoreError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    emit(
        {
            "file": str(args.file),
            "imported": summary.imported,
            "rejected": summary.rejected,
            "rejections": summary.rejections,
            "seconds": summary.seconds,
        }
    )
    return 0 if summary.rejected == 0 else 3
