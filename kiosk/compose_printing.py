"""Printing's part of the composition: which printer (the demo's emulator, a Zebra on TCP, a CUPS raw queue).

kiosk.compose calls these; they build the print journal and worker over the chosen printer and hand the screens a
`JournalPrinting`. Nothing else in the code base picks a printer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlTicketStore
from kiosk.compose_services import print_journal, print_worker
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.labels import ticket_label
from kiosk.services.ports import Printer
from kiosk.services.printing import PrintJournal
from kiosk.ui.printing_port import JournalPrinting, LabelPreview


def label_preview(store: Store, journal: PrintJournal) -> LabelPreview:
    """A PNG of a real label from the store, in the journal's format and resolution (the technician's preview)."""

    def preview(out: Path, lang: str) -> Path | None:
        with store.read() as conn:
            ticket = SqlTicketStore().newest_printable(conn)
            if ticket is None:
                return None
            catalog = SqlCatalogStore().load(conn)
        label = ticket_label(ticket, catalog, lang)
        zpl = journal.renderer.ticket(label, journal.default_format, journal.default_dpi)
        out.write_bytes(journal.renderer.png(zpl, journal.default_dpi))
        return out

    return preview


def journal_printing(
    store: Store,
    printer: Printer,
    journal: PrintJournal,
    clock: Clock,
    emulator: Any = None,
    *,
    idle_poll: float = 0.5,
    fault_poll: float = 1.0,
) -> JournalPrinting:
    worker = print_worker(store, printer, journal, clock=clock, idle_poll=idle_poll, fault_poll=fault_poll).start()
    return JournalPrinting(store, worker, journal, emulator, preview=label_preview(store, journal), clock=clock)


def demo_printing(workdir: Path, store: Store, clock: Clock = system_clock) -> JournalPrinting:
    """The printer emulator in-process on a free loopback port, saving labels (ZPL + PNG) under workdir/printed."""
    from kiosk.adapters.zebra import ZebraPrinter
    from kiosk.demo.printer_emulator import PrinterEmulator

    emulator = PrinterEmulator(out_dir=workdir / "printed", png=True).start()
    printer = ZebraPrinter("127.0.0.1", emulator.port, connect_timeout=1.0, read_timeout=1.0, name="demo-emulator")
    return journal_printing(store, printer, print_journal(), clock, emulator, idle_poll=0.2, fault_poll=0.5)


def configured_printing(config: Any, store: Store, clock: Clock = system_clock) -> JournalPrinting:
    """The configured Zebra: raw TCP to host:port, or through a CUPS raw queue."""
    from kiosk.adapters.zebra import ZebraPrinter

    p = config.printer
    printer: Printer
    if p.transport == "cups":
        from kiosk.adapters.cups_printer import CupsPrinter

        printer = CupsPrinter(p.cups_queue)
    else:
        printer = ZebraPrinter(p.host, p.port)
    return journal_printing(store, printer, print_journal(p.format, p.dpi), clock)
