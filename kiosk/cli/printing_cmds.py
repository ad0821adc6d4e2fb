"""Sub-commands of printing: printer-emulator, render-ticket, printer-status (registered by kiosk.cli)."""

from __future__ import annotations

import argparse
import socket
import threading
from dataclasses import asdict
from pathlib import Path

from kiosk.adapters.store.engine import StoreError, open_store
from kiosk.cli.output import CliError, emit
from kiosk.domain.languages import DEFAULT_LANGUAGE, LANGUAGES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("printer-emulator", help="a Zebra printer emulator on TCP (answers ~HS, saves labels)")
    p.add_argument("--port", type=int, default=9100, help="ZPL port (0 = any free port; default 9100)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--out", type=Path, required=True, help="folder for label-NNNN.zpl / .png")
    p.add_argument("--control-port", type=int, default=None, help="line-protocol control port (default: port+1)")
    p.add_argument("--no-png", action="store_true", help="save ZPL only")
    for fault in ("paper-out", "head-open", "paused"):
        p.add_argument(f"--{fault}", action="store_true", help=f"start with {fault}")
    p.set_defaults(func=cmd_printer_emulator)

    r = sub.add_parser("render-ticket", help="render a ticket from the store to ZPL (and a PNG preview)")
    r.add_argument("--db", type=Path, required=True)
    r.add_argument("--code", required=True, help="the ticket's code")
    r.add_argument("--format", choices=["show", "cinema"], default="show")
    r.add_argument("--dpi", type=int, choices=[203, 300], default=203)
    r.add_argument("--lang", choices=LANGUAGES, default=DEFAULT_LANGUAGE)
    r.add_argument("--copy", type=int, default=1, help="2 and more mark the label as a reprint")
    r.add_argument("--out", type=Path, required=True, help="FILE.zpl")
    r.add_argument("--png", type=Path, help="FILE.png preview (zplkit; glyphs it lacks show as '?')")
    r.set_defaults(func=cmd_render_ticket)

    s = sub.add_parser("printer-status", help="read a networked Zebra's ~HS/~HQES status")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, default=9100)
    s.set_defaults(func=cmd_printer_status)


def cmd_printer_emulator(args: argparse.Namespace) -> int:
    from kiosk.demo.printer_emulator import EmulatorFaults, PrinterEmulator

    faults = EmulatorFaults(paper_out=args.paper_out, head_open=args.head_open, paused=args.paused)
    control = args.control_port if args.control_port is not None else (args.port + 1 if args.port else 0)
    emu = PrinterEmulator(args.host, args.port, args.out, not args.no_png, control, faults)
    try:
        emu.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc}") from exc
    emit({"listening": f"{args.host}:{emu.port}", "control": f"{args.host}:{emu.control_port}", "out": str(args.out)})
    try:
        threading.Event().wait()
    finally:
        emu.stop()
    return 0


def cmd_render_ticket(args: argparse.Namespace) -> int:
    from kiosk.adapters.store.repositories import SqlCatalogStore, SqlTicketStore
    from kiosk.adapters.zpl import LayoutError, render_png, render_ticket
    from kiosk.domain.labels import LabelError, ticket_label

    try:
        store = open_store(args.db)
        try:
            with store.read() as conn:
                ticket = SqlTicketStore().by_code(conn, args.code)
                catalog = SqlCatalogStore().load(conn)
        finally:
            store.close()
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    if ticket is None:
        raise CliError(f"no ticket with code {args.code!r} in {args.db}")
    try:
        rendered = render_ticket(ticket_label(ticket, catalog, args.lang, args.copy), args.format, args.dpi)
    except (LabelError, LayoutError) as exc:
        raise CliError(f"cannot render this ticket: {exc}") from exc
    args.out.write_bytes(rendered.zpl)
    out = {"zpl": str(args.out), "width": rendered.width, "height": rendered.height, "dpi": rendered.dpi}
    out |= {"code128": rendered.has_code128, "truncated": list(rendered.truncated)}
    if args.png:
        try:
            args.png.write_bytes(render_png(rendered.zpl, args.dpi))
        except ImportError as exc:
            raise CliError("PNG preview needs zplkit: pip install 'venue-kiosk[print]'") from exc
        out["png"] = str(args.png)
    emit(out)
    return 0


def cmd_printer_status(args: argparse.Namespace) -> int:
    from kiosk.adapters.zebra import ZebraPrinter

    try:
        socket.getaddrinfo(args.host, args.port)
    except OSError as exc:
        raise CliError(f"unknown printer host {args.host!r}: {exc}") from exc
    status = ZebraPrinter(args.host, args.port).host_status()
    emit({"ready": status.ready, "faults": list(status.faults), **asdict(status)})
    return 0 if status.ready else 3
