"""`kiosk demo`: the touch app on the embedded demo venue (simulated camera, printer emulator, no broker needed);
`kiosk demo --headless` makes the venue, scans a handful of its codes and prints the verdicts."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from kiosk.adapters.store.engine import StoreError, open_store
from kiosk.adapters.store.identity import IdentityError, claim_store
from kiosk.cli.output import CliError, emit
from kiosk.cli.store_cmds import DEMO_DEVICE, DEMO_VENUE, verdict_json
from kiosk.compose_services import scanning_service
from kiosk.demo.venue import build_demo_venue, install_demo_venue
from kiosk.domain.clock import system_clock


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the kiosk on its embedded demo venue")
    p.add_argument("--db", type=Path, help="demo database (default: a fresh temporary file)")
    p.add_argument("--headless", action="store_true", help="no window: scan sample codes and print verdicts")
    p.add_argument("--role", choices=["door", "sales", "both"], default="both", help="screens to show (default: both)")
    p.add_argument("--fullscreen", action="store_true", help="full screen, cursor hidden (kiosk mode)")
    p.set_defaults(func=cmd_demo)


def _no_display() -> bool:
    """No X11/Wayland display and no SDL video driver chosen (e.g. over SSH): a window cannot open."""
    return not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", "KIVY_WINDOW"))


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.headless and _no_display():
        print(
            "kiosk demo: no display here (DISPLAY is not set), so running headless; "
            "run it from the kiosk's screen or a desktop to see the app",
            file=sys.stderr,
        )
        args.headless = True
    if args.headless:
        return cmd_demo_headless(args)
    from kiosk.ui.launch import tune_malloc

    tune_malloc()  # before the printer emulator's and the app's threads start
    from kiosk.compose import compose_demo

    try:
        services = compose_demo(args.db, role=args.role)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    services.fullscreen = args.fullscreen
    print(f"# demo data in {services.store.path.parent if services.store else '?'}; technician PIN 1234")
    from kiosk.ui.launch import run

    return run(services)


def cmd_demo_headless(args: argparse.Namespace) -> int:
    db: Path = args.db or Path(tempfile.mkdtemp(prefix="kiosk-demo-")) / "demo.sqlite"
    now = system_clock()
    try:
        store = open_store(db, create=True)
        # A --db that already belongs to another device is refused here, before anything is written.
        identity = claim_store(store, DEMO_DEVICE, DEMO_VENUE, now=now, claimed_by="demo-data")
        venue = build_demo_venue(now, 200, seed=7)
        install_demo_venue(store, venue, None, now)
        service = scanning_service(store, identity.device_id)
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
    except (StoreError, IdentityError) as exc:
        raise CliError(str(exc)) from exc
    print(f"# demo database: {db}  (try: kiosk check --db {db} CODE)")
    return 0
