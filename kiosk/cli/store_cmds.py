"""Headless store commands: `demo-data`, `check`, `store claim|identity` (JSON out); `import-tickets` registers here.

Scans are recorded under the store's own device id (`kiosk.adapters.store.identity`), never a default."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.adapters.store.engine import Store, StoreError, open_store
from kiosk.adapters.store.identity import ROLES, IdentityError, StoreIdentity, claim_store, writer_device
from kiosk.cli import import_cmds
from kiosk.cli.output import CliError, emit
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.clock import Clock, fixed_clock, system_clock
from kiosk.domain.model import Direction, pick_text
from kiosk.domain.timeutil import iso, parse_instant
from kiosk.services.scanning import ScanResult


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo-data", help="create the demo venue (catalog, keys, tickets) in a database")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--tickets", type=int, default=200, help="number of list tickets (default 200)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--codes-out", type=Path, help="write 'CODE<TAB>expected verdict' lines here")
    p.add_argument("--device", default=DEMO_DEVICE, help=f"device the new store belongs to (default {DEMO_DEVICE})")
    p.add_argument("--venue", default=DEMO_VENUE, help=f"venue id of that device (default {DEMO_VENUE})")
    p.add_argument("--role", choices=ROLES, default="both", help="door, sales or both (default both)")
    p.add_argument("--now", type=parse_instant, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("check", help="scan codes at a gate and print one JSON verdict per code")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--gate", default="main")
    p.add_argument("--exit", action="store_true", help="record exits instead of entries")
    p.add_argument("--device", help="the store's device id (scans are recorded under it; another one is refused)")
    p.add_argument("--now", type=parse_instant, help=argparse.SUPPRESS)
    p.add_argument("codes", nargs="*", help="codes to check; none: read one per line from stdin")
    p.set_defaults(func=cmd_check)

    import_cmds.register(sub)  # import-tickets: its own module (help, progress, JSON errors)
    _register_store(sub)


def _register_store(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store = sub.add_parser("store", help="the store's device identity: `claim` (once) or show it")
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    p = actions.add_parser("claim", help="record which device and venue this store belongs to (stores made before)")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--device", required=True, help="device id (as in the config / MQTT topics)")
    p.add_argument("--venue", required=True, help="venue id")
    p.add_argument("--role", choices=ROLES, help="door, sales or both")
    p.add_argument("--now", type=parse_instant, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_store_claim)
    p = actions.add_parser("identity", help="print the store's device identity (JSON)")
    p.add_argument("--db", required=True, type=Path)
    p.set_defaults(func=cmd_store_identity)


def _clock(now: datetime | None) -> Clock:
    return fixed_clock(now) if now else system_clock


def identity_json(identity: StoreIdentity) -> dict[str, Any]:
    return {
        "device_id": identity.device_id,
        "venue_id": identity.venue_id,
        "role": identity.role,
        "claimed_by": identity.claimed_by,
        "created_at": iso(identity.created_at),
    }


def cmd_store_claim(args: argparse.Namespace) -> int:
    store = _open(args.db)
    try:
        identity = claim_store(
            store, args.device, args.venue, now=_clock(args.now)(), claimed_by="claim", role=args.role
        )
    except (IdentityError, StoreError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    emit({"db": str(args.db), **identity_json(identity)})
    return 0


def cmd_store_identity(args: argparse.Namespace) -> int:
    store = _open(args.db)
    try:
        identity = writer_device(store)
    except (IdentityError, StoreError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    emit({"db": str(args.db), **identity_json(identity)})
    return 0


DEMO_DEVICE = "demo-kiosk-1"
DEMO_VENUE = "demo"


def _open(path: Path, create: bool = False) -> Store:
    try:
        return open_store(path, create=create)
    except StoreError as exc:
        raise CliError(str(exc)) from exc


def cmd_demo_data(args: argparse.Namespace) -> int:
    if args.tickets < 0:
        raise CliError("--tickets must be 0 or more", 2)
    now = _clock(args.now)()
    store = _open(args.db, create=True)
    try:
        # Claimed first: a store that belongs to another device is refused before anything is written.
        identity = claim_store(store, args.device, args.venue, now=now, claimed_by="demo-data", role=args.role)
        venue = build_demo_venue(now, args.tickets, args.seed)
        keys_file = args.db.with_name(args.db.name + ".issuer-keys.json")
        install_demo_venue(store, venue, keys_file, now)
    except (StoreError, IdentityError) as exc:
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
            "device_id": identity.device_id,
            "venue_id": identity.venue_id,
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
        # Strings: 63-bit ids would be rounded by jq and JavaScript as JSON numbers.
        out["ticket_id"] = str(v.ticket.ticket_id)
        out["performance_id"] = str(v.performance_id) if v.performance_id is not None else None
    if v.display is not None:
        out["tariff"] = pick_text(v.display.tariff_name, lang)
        out["holder_name"] = v.display.holder_name
    if v.first_use is not None:
        out["first_use"] = {"at": iso(v.first_use.at), "device_id": v.first_use.device_id, "gate": v.first_use.gate}
    return out


def cmd_check(args: argparse.Namespace) -> int:
    store = _open(args.db)
    direction = Direction.EXIT if args.exit else Direction.ENTRY
    try:
        device = writer_device(store, args.device).device_id
        # A fixed --now makes every scan land at the same instant; the debounce would then hide repeats.
        debounce = timedelta(0) if args.now else timedelta(seconds=3)
        service = scanning_service(store, device, clock=_clock(args.now), debounce=debounce)
        for code in _codes_from(args):
            emit(verdict_json(service.scan(code, args.gate, direction), code))
    except (StoreError, IdentityError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()
    return 0
