"""The ports: every protocol the services use, and the printing views the screens read.

Services receive implementations of these (kiosk.compose picks them: SQL repositories in kiosk.adapters.store,
the Zebra printer, the camera, the decoders); tests pass fakes. A transaction is opaque here (`Tx`): services
open it with `StorePort.write()`/`read()` and hand it to the repositories, which alone know it is SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import Receipt, TicketLabel
from kiosk.domain.model import CheckinRecord, TicketRecord
from kiosk.domain.outbox import OutboxEvent
from kiosk.domain.print_jobs import JobState, NewPrintJob, PrintJob
from kiosk.domain.printer import PrinterStatus
from kiosk.domain.receipts import SaleReceipt
from kiosk.domain.sales import Cart, Settlement
from kiosk.domain.scan_input import ScanTrace
from kiosk.domain.sync_state import AgentSyncState
from kiosk.domain.verdicts import GateContext, Verdict

Tx = Any  # an open store transaction: only the repositories look inside
Frame = Any  # an image array from a frame source; only the decoder looks inside


# --- the store: transactions and repositories -------------------------------------------------------------------


class StorePort(Protocol):
    """Transactions: `write()` takes the write lock up front, `read()` is a consistent snapshot."""

    @property
    def path(self) -> Path:
        """Where the store lives (shown to technicians, and the demo keeps its files beside it)."""
        ...

    def write(self) -> AbstractContextManager[Tx]: ...

    def read(self) -> AbstractContextManager[Tx]: ...


class CatalogRepository(Protocol):
    def version(self, conn: Tx) -> str: ...

    def load(self, conn: Tx) -> Catalog: ...


class TicketRepository(Protocol):
    def by_code(self, conn: Tx, code: str) -> TicketRecord | None: ...

    def by_id(self, conn: Tx, ticket_id: int) -> TicketRecord | None: ...

    def upsert(self, conn: Tx, tickets: Iterable[TicketRecord], source: str = "list") -> int: ...

    def code_owners(self, conn: Tx) -> dict[str | None, int]: ...

    def is_revoked(self, conn: Tx, ticket_id: int) -> bool: ...

    def history(self, conn: Tx, ticket_id: int) -> tuple[CheckinRecord, ...]: ...

    def record_movement(self, conn: Tx, scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> None: ...

    def record_failed(
        self, conn: Tx, scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime, seen: ScanTrace
    ) -> None: ...


class OutboxRepository(Protocol):
    def append(self, conn: Tx, event: OutboxEvent) -> int: ...

    def pending_count(self, conn: Tx) -> int: ...

    def oldest_pending_at(self, conn: Tx) -> datetime | None: ...


class SalesRepository(Protocol):
    """Orders and their lines (the tickets themselves go through the TicketRepository)."""

    def add_order(
        self,
        conn: Tx,
        *,
        order_id: str,
        order_ref: str,
        device_id: str,
        cart: Cart,
        settlement: Settlement,
        sold_at: datetime,
        lang: str,
    ) -> None: ...

    def find(self, conn: Tx, order_id: str) -> SaleReceipt | None:
        """The receipt of an order already sold (marked `repeated`), or None."""
        ...


class PrintJobRepository(Protocol):
    """The durable print journal's rows."""

    def add(self, conn: Tx, job: NewPrintJob) -> None: ...

    def get(self, conn: Tx, job_id: str) -> PrintJob | None: ...

    def zpl(self, conn: Tx, job_id: str) -> bytes: ...

    def next_queued(self, conn: Tx) -> PrintJob | None: ...

    def jobs(self, conn: Tx, states: Iterable[JobState] | None = None, limit: int = 100) -> list[PrintJob]: ...

    def count(self, conn: Tx, state: JobState) -> int: ...

    def mark(
        self,
        conn: Tx,
        job_id: str,
        state: JobState,
        now: datetime,
        *,
        status: str | None = None,
        error: str | None = None,
        attempt: bool = False,
    ) -> None: ...

    def ids_in_state(self, conn: Tx, state: JobState) -> list[str]: ...

    def cancel_queued(self, conn: Tx, job_id: str, now: datetime, error: str) -> bool: ...

    def highest_copy(self, conn: Tx, ticket_id: int) -> int | None: ...


class StatusRepository(Protocol):
    """Read-only counts for the door and technician screens."""

    def admitted_since(self, conn: Tx, since: datetime, gate: str | None) -> int: ...

    def inside_since(self, conn: Tx, since: datetime) -> int: ...

    def dead_letter_count(self, conn: Tx) -> int: ...

    def last_rejection(self, conn: Tx) -> str:
        """The reason central gave for the newest dead letter ("" without one)."""
        ...

    def wipe_requested(self, conn: Tx) -> bool:
        """Central's signed wipe is waiting for a technician's `kiosk-provision wipe` (firmware_config.wipe_request)."""
        ...

    def agent_state(self, conn: Tx) -> AgentSyncState | None:
        """The sync agent's own status row; None before it ever ran (or on a store without the sync schema)."""
        ...


# --- devices ----------------------------------------------------------------------------------------------------


class Printer(Protocol):
    """What the print worker needs of a printer (Zebra over TCP, a CUPS raw queue, the recording fake)."""

    name: str

    def status(self) -> PrinterStatus:
        """Never raises: an unreachable or garbled printer gives a status with `reachable=False`."""
        ...

    def send(self, data: bytes) -> PrinterStatus:
        """Send one job; raises PrinterUnreachable (nothing sent) or PrinterSendError (outcome unknown)."""
        ...


class LabelRenderer(Protocol):
    """Labels to printer language (ZPL) and to a PNG preview; raises on a label that does not fit."""

    def ticket(self, label: TicketLabel, fmt: str, dpi: int) -> bytes: ...

    def receipt(self, receipt: Receipt, dpi: int) -> bytes: ...

    def png(self, zpl: bytes, dpi: int) -> bytes: ...


class SourceStatusView(Protocol):
    """A frame source's health (kiosk.adapters.camera.SourceStatus): state word, detail and counters."""

    @property
    def state(self) -> str: ...

    @property
    def detail(self) -> str: ...

    @property
    def mode(self) -> str: ...

    @property
    def bad_frames(self) -> int: ...


class FrameSource(Protocol):
    """What the scanner pipeline reads from (a camera, a video file, an image folder, the fake)."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...

    def next_frame(self, after: int, timeout: float) -> tuple[int, Frame] | None: ...

    def status(self) -> SourceStatusView: ...


class CodeRead(Protocol):
    @property
    def format(self) -> str: ...

    @property
    def text(self) -> str: ...


class Decoder(Protocol):
    """Anything that turns a frame into the codes it shows."""

    def decode(self, frame: Frame) -> Sequence[CodeRead]: ...


class Notifier(Protocol):
    """The service manager's notify channel (systemd's sd_notify in production)."""

    def ready(self, status: str | None = None) -> bool: ...

    def watchdog(self) -> bool: ...

    def status(self, text: str) -> bool: ...

    def stopping(self) -> bool: ...


class NoNotifier:
    """Outside a service manager: notifications go nowhere."""

    def ready(self, status: str | None = None) -> bool:
        return False

    def watchdog(self) -> bool:
        return False

    def status(self, text: str) -> bool:
        return False

    def stopping(self) -> bool:
        return False


# --- printing, as the screens see it ----------------------------------------------------------------------------


class LabelQueue(Protocol):
    """The print journal, written inside the sale's transaction."""

    def enqueue_sale(self, conn: Tx, receipt: SaleReceipt, catalog: Catalog, lang: str) -> list[str]: ...


@dataclass(frozen=True)
class PrinterView:
    """The printer as screens show it: a state word (see presenters.PRINTER_PROBLEMS) and raw detail."""

    state: str
    detail: str = ""


@dataclass(frozen=True)
class JobsView:
    total: int
    printed: int
    problem: str = ""  # printer state word while it blocks the jobs, else ""
    failed: bool = False
    lost: int = 0  # jobs that will not print by themselves (outcome unknown, or failed): a reprint is needed


class PrintingPort(Protocol):
    """What the screens need from printing (kiosk.ui.printing_port adapts the journal and worker to it)."""

    @property
    def labels(self) -> LabelQueue | None: ...

    def printer(self) -> PrinterView: ...

    def jobs(self, job_ids: tuple[str, ...]) -> JobsView: ...

    def state(self) -> str:
        """The printer's state word as last seen, without asking the printer (cheap: the sales screen polls it)."""
        ...

    def reprint(self, job_ids: tuple[str, ...], *, device_id: str, reason: str) -> tuple[str, ...]:
        """Reprint the jobs among `job_ids` that did not print; the ids to follow (printed/queued ones kept)."""
        ...

    def test_print(self, lang: str = "en") -> None:
        """A test label on the configured stock, captioned in `lang` (the technician's)."""
        ...

    def wake(self) -> None: ...

    def preview_png(self, out: Path, lang: str) -> Path | None: ...

    def close(self) -> None: ...


class NoPrinting:
    """Used when the device has no printer set up (a door kiosk) or printing is unavailable."""

    labels: LabelQueue | None = None

    def __init__(self, reason: str = "not_configured") -> None:
        self._reason = reason

    def printer(self) -> PrinterView:
        return PrinterView(self._reason)

    def jobs(self, job_ids: tuple[str, ...]) -> JobsView:
        return JobsView(len(job_ids), 0, self._reason, failed=bool(job_ids), lost=len(job_ids))

    def state(self) -> str:
        return self._reason

    def reprint(self, job_ids: tuple[str, ...], *, device_id: str, reason: str) -> tuple[str, ...]:
        raise RuntimeError("no printer is set up on this kiosk")

    def test_print(self, lang: str = "en") -> None:
        raise RuntimeError("no printer is set up on this kiosk")

    def wake(self) -> None:
        return None

    def preview_png(self, out: Path, lang: str) -> Path | None:
        return None

    def close(self) -> None:
        return None
