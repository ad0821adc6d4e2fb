"""`kiosk-sync dead-letters list|requeue`: what central rejected, and sending it again once the cause is fixed.

Safe while the agent runs: a requeued event goes back into the outbox at its top, where the agent's next batch
picks it up (see `kiosk.adapters.store.dead_letters`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kiosk.adapters.store.dead_letters import DeadLetter, Selection, list_dead_letters, requeue
from kiosk.adapters.store.engine import Store, StoreError, open_store
from kiosk.adapters.store.identity import IdentityError, writer_device
from kiosk.domain.errors import KioskError
from kiosk.domain.timeutil import iso


class _Usage(KioskError):
    """Bad use of `kiosk-sync dead-letters`: printed as one line, exit 2."""

    reason = "usage"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk-sync dead-letters", description="Events central rejected.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="list dead letters (event id, kind, reason, when)")
    rq = actions.add_parser("requeue", help="move dead letters back to the outbox so the agent sends them again")
    for sub in (ls, rq):
        sub.add_argument("--db", type=Path, help="device SQLite store")
        sub.add_argument("--config", type=Path, help="device config file (its paths.database)")
        sub.add_argument("--json", action="store_true", help="JSON instead of a table")
    ls.add_argument("--reason", help="only those rejected for this reason (e.g. device_mismatch)")
    which = rq.add_argument_group("which (at least one)")
    which.add_argument("--all", action="store_true", help="every dead letter")
    which.add_argument("--id", action="append", default=[], metavar="EVENT_ID", help="this event (repeatable)")
    which.add_argument("--reason", help="those rejected for this reason")
    rq.add_argument(
        "--rewrite-device",
        action="store_true",
        help="the events were recorded on this store under a wrong device id (e.g. the old 'kiosk-cli' default "
        "of `kiosk check`): give them the store's own device id before sending",
    )
    return p


def _database(args: argparse.Namespace) -> Path:
    if args.db is not None:
        return Path(args.db)
    if args.config is None:
        raise _Usage("give --db or --config")
    from firmware_config.loader import ConfigError, load_config

    try:
        return Path(load_config(args.config).paths.database)
    except (ConfigError, OSError, ValueError) as exc:
        raise _Usage(str(exc)) from exc


def _row(d: DeadLetter) -> dict[str, Any]:
    return {
        "event_id": d.event_id,
        "kind": d.kind,
        "reason": d.reason,
        "rejected_at": iso(d.rejected_at),
        "occurred_at": iso(d.occurred_at) if d.occurred_at else None,
        "device_id": d.device_id,
    }


def _table(rows: list[dict[str, Any]]) -> str:
    columns = ("event_id", "kind", "reason", "rejected_at", "device_id")
    cells = [[c.upper() for c in columns]] + [[str(r[c] or "-") for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells)


def cmd_list(store: Store, args: argparse.Namespace) -> int:
    selection = Selection(reason=args.reason) if args.reason else Selection(every=True)
    with store.read() as conn:
        rows = [_row(d) for d in list_dead_letters(conn, selection)]
    if args.json:
        print(json.dumps({"dead_letters": rows}, indent=2))
    else:
        print(_table(rows))
        print(f"{len(rows)} dead letter(s)")
    return 0


def cmd_requeue(store: Store, args: argparse.Namespace) -> int:
    if args.all and (args.id or args.reason):
        raise _Usage("--all selects every dead letter: give it alone")
    selection = Selection(every=args.all, ids=tuple(args.id), reason=args.reason)
    if selection.is_empty():
        raise _Usage("say which: --all, --id EVENT_ID or --reason REASON")
    device = writer_device(store, named_by="--rewrite-device").device_id if args.rewrite_device else None
    with store.write() as conn:
        ids = requeue(conn, selection, rewrite_device=device)
    if args.json:
        print(json.dumps({"requeued": ids, "device_id": device}))
    else:
        rewritten = f" as device {device}" if device else ""
        print(f"requeued {len(ids)} dead letter(s){rewritten}; the agent sends them with its next batch")
    return 0


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        store = open_store(_database(args))
    except (_Usage, StoreError) as exc:
        print(f"kiosk-sync dead-letters: {exc}", file=sys.stderr)
        return 2
    try:
        return cmd_list(store, args) if args.action == "list" else cmd_requeue(store, args)
    except (_Usage, StoreError, IdentityError) as exc:
        print(f"kiosk-sync dead-letters: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
