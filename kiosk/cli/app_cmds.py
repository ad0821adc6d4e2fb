"""`kiosk run` (the touch app on the configured role, or the demo venue when nothing is configured) and
`kiosk screenshots --out DIR` (every screen and state in every language, as PNG)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.cli.output import CliError
from kiosk.domain.languages import LANGUAGES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="the touch app on the configured role (the demo venue when nothing is configured)")
    p.add_argument("--config", type=Path, help="device config (default: $KIOSK_CONFIG or /etc/kiosk/kiosk.toml)")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen (for a desktop)")
    p.set_defaults(func=cmd_run)
    s = sub.add_parser("screenshots", help="render every screen and state in every language to PNG files")
    s.add_argument("--out", type=Path, required=True, help="folder for the PNG files (created if missing)")
    s.add_argument("--lang", action="append", choices=LANGUAGES, help="only these languages")
    s.set_defaults(func=cmd_screenshots)


def cmd_default(args: argparse.Namespace) -> int:
    """`kiosk` with no sub-command: the app, as `kiosk run` (for kiosk.cli's `parser.default_func`)."""
    return cmd_run(argparse.Namespace(config=getattr(args, "config", None), windowed=False, clock=args.clock))


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.cli.demo_cmds import _no_display
    from kiosk.compose import DEFAULT_CONFIG, compose_demo, compose_from_config

    if _no_display():
        # Without this, SDL waits for a display that never comes and the unit looks hung.
        raise CliError(
            "no display (DISPLAY/WAYLAND_DISPLAY unset): the app runs in the kiosk-ui session; "
            "for a check without a screen use `kiosk demo --headless` or `kiosk-provision selftest`"
        )
    from kiosk.ui.launch import tune_malloc

    tune_malloc()  # before any thread starts
    path: Path = args.config or DEFAULT_CONFIG
    if args.config is not None and not path.exists():
        raise CliError(f"{path}: no such config file")
    if path.exists():
        services = compose_from_config(path, clock=args.clock)
    else:
        print(f"kiosk: no config at {path}; starting the embedded demo venue", file=sys.stderr)
        services = compose_demo(now=args.clock(), clock=args.clock)
    if args.windowed:
        services.fullscreen = False
    from kiosk.ui.launch import run

    return run(services)


def cmd_screenshots(args: argparse.Namespace) -> int:
    from kiosk.compose import screenshot_demo
    from kiosk.ui.screenshots import take_screenshots

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    report = take_screenshots(out, tuple(args.lang or LANGUAGES), demo=screenshot_demo)
    for line in report.files:
        print(line)
    if report.error:
        raise CliError(f"screenshots stopped: {report.error}")
    if report.problems:
        for item in report.problems:
            print(f"problem: {item}", file=sys.stderr)
        raise CliError(f"{len(report.problems)} problems on the screenshots (see above)")
    return 0
