"""`kiosk demo`: the embedded demo venue, headless — make the venue, scan a handful of its codes, show verdicts."""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from kiosk.adapters.store.engine import StoreError, open_store
from kiosk.cli.output import CliError, emit
from kiosk.cli.store_cmds import verdict_json
from kiosk.services.demo_venue import build_demo_venue, install_demo_venue
from kiosk.services.scanning import ScanningService


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the kiosk on its embedded demo venue (headless for now)")
    p.add_argument("--db", type=Path, help="demo database (default: a fresh temporary file)")
    p.add_argument("--headless", action="store_true", help="no window: scan sample codes and print verdicts")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    db: Path = args.db or Path(tempfile.mkdtemp(prefix="kiosk-demo-")) / "demo.sqlite"
    now = datetime.now(UTC)
    try:
        store = open_store(db, create=True)
        venue = build_demo_venue(now, 200, seed=7)
        install_demo_venue(store, venue, None, now)
        service = ScanningService(store, "demo-door-1")
        shown: set[str] = set()
        samples = []
        for code, expected in venue.expected:
            if expected not in shown:
                shown.add(expected)
                samples.append((code, expected))
        first_valid = next(code for code, expected in venue.expected if expected == "valid")
        samples.append((first_valid, "already_used"))
        for code, expected in samples:
            # Scans a second apart in real life; the debounce would merge an immediate repeat.
            service._recent.clear()
            out = verdict_json(service.scan(code, "main"), code)
            out["expected"] = expected
            emit(out)
        store.close()
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    print(f"# demo database: {db}  (try: kiosk check --db {db} CODE)")
    return 0
