"""The services over the device store: each gets the SQL repositories of kiosk.adapters.store (and the ZPL renderer).

kiosk.compose, the CLI, the benches and integration tests build services through these; unit tests hand the
services fakes of the ports instead (tests/services/fakes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from kiosk.adapters.label_renderer import ZplRenderer
from kiosk.adapters.store.print_journal_repository import SqlPrintJobs
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlOutboxStore, SqlTicketStore
from kiosk.adapters.store.sales_repository import SqlSalesRepository
from kiosk.adapters.store.status_repository import SqlStatusRepository
from kiosk.domain.clock import Clock, system_clock
from kiosk.services.kiosk_status import KioskStatus
from kiosk.services.ports import LabelQueue, Printer, StorePort
from kiosk.services.print_journal import PrintJournal
from kiosk.services.printing import PrintWorker
from kiosk.services.scanning import DEFAULT_DEBOUNCE, ScanningService, new_scan_id
from kiosk.services.selling import SalesKey, SellingService, new_order_ref, new_ticket_id
from kiosk.services.ticket_import import ImportSummary, Progress
from kiosk.services.ticket_import import import_tickets as _import_tickets


def scanning_service(
    store: StorePort,
    device_id: str,
    *,
    clock: Clock = system_clock,
    new_id: Callable[[], str] = new_scan_id,
    debounce: timedelta = DEFAULT_DEBOUNCE,
) -> ScanningService:
    return ScanningService(
        store,
        device_id,
        catalogs=SqlCatalogStore(),
        tickets=SqlTicketStore(),
        outbox=SqlOutboxStore(),
        clock=clock,
        new_id=new_id,
        debounce=debounce,
    )


def selling_service(
    store: StorePort,
    device_id: str,
    *,
    can_sell: bool,
    sales_key: SalesKey | None,
    labels: LabelQueue | None = None,
    clock: Clock = system_clock,
    ticket_ids: Callable[[], int] = new_ticket_id,
    order_refs: Callable[[], str] = new_order_ref,
) -> SellingService:
    return SellingService(
        store,
        device_id,
        catalogs=SqlCatalogStore(),
        tickets=SqlTicketStore(),
        outbox=SqlOutboxStore(),
        sales=SqlSalesRepository(),
        can_sell=can_sell,
        sales_key=sales_key,
        labels=labels,
        clock=clock,
        ticket_ids=ticket_ids,
        order_refs=order_refs,
    )


def kiosk_status(store: StorePort) -> KioskStatus:
    space = getattr(store, "space", None)  # the SQLite store measures its disk; test doubles need not
    return KioskStatus(
        store, catalogs=SqlCatalogStore(), outbox=SqlOutboxStore(), status=SqlStatusRepository(), space=space
    )


def print_journal(default_format: str = "show", default_dpi: int = 203) -> PrintJournal:
    return PrintJournal(
        jobs=SqlPrintJobs(),
        tickets=SqlTicketStore(),
        catalogs=SqlCatalogStore(),
        outbox=SqlOutboxStore(),
        renderer=ZplRenderer(),
        default_format=default_format,
        default_dpi=default_dpi,
    )


def print_worker(
    store: StorePort,
    printer: Printer,
    journal: PrintJournal | None = None,
    *,
    clock: Clock = system_clock,
    idle_poll: float = 0.5,
    fault_poll: float = 1.0,
    watch_poll: float = 0.05,
    confirm_timeout: float = 20.0,
) -> PrintWorker:
    """A worker (not started yet) over `journal`, or over a new SQL print journal in the default format."""
    return PrintWorker(
        store,
        printer,
        journal or print_journal(),
        clock=clock,
        idle_poll=idle_poll,
        fault_poll=fault_poll,
        watch_poll=watch_poll,
        confirm_timeout=confirm_timeout,
    )


def import_tickets(store: StorePort, path: Path, progress: Progress | None = None) -> ImportSummary:
    return _import_tickets(store, path, progress, tickets=SqlTicketStore())
