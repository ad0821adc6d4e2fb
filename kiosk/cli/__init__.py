"""The `kiosk` command line: one sub-command module per capability, each with a `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from kiosk import __version__
from kiosk.cli.output import CliError
from kiosk.domain.clock import Clock, fixed_clock, system_clock
from kiosk.domain.errors import KioskError

# Each module defines register(subparsers); a sub-command stores its handler as `func`.
# Keep one module per capability so that owners do not edit each other's files.
COMMAND_MODULES = (
    "kiosk.cli.store_cmds",  # demo-data, check, import-tickets
    "kiosk.cli.demo_cmds",  # demo
    "kiosk.cli.scanner_cmds",  # decode, scan
    "kiosk.cli.printing_cmds",  # printer-emulator, render-ticket
    "kiosk.cli.app_cmds",  # run (the Kivy app), screenshots
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Venue kiosk: scanning, sales and printing.")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # `kiosk` alone starts the app on the configured role (or the demo venue when nothing is configured).
    parser.set_defaults(func=None)
    parser.default_func = importlib.import_module("kiosk.cli.app_cmds").cmd_default  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock = system_clock) -> int:
    """Run one command. `clock` is the only time source handlers read (as `args.clock`); a command's hidden
    `--now` pins it to that instant (tests, reproducible runs)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    now = getattr(args, "now", None)
    args.clock = fixed_clock(now) if now is not None else clock
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        default: Handler | None = getattr(parser, "default_func", None)
        if default is None:
            parser.print_help()
            return 2
        func = default
    try:
        return func(args)
    except CliError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KioskError as exc:
        # Any other expected failure (store, identity, display, config...) is one line, never a traceback.
        print(f"kiosk: {exc} [{exc.reason}]", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
