"""In-memory fakes of the service ports (kiosk.services.ports): a store whose transaction is a `Memory` of rows.

`FakeStore.write()` snapshots the memory and puts it back when the block raises, so "nothing was written" is as
true here as with SQLite. Each fake repository reads and writes only the `Memory` it is handed as the transaction.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from kiosk.demo.venue import DemoVenue
from kiosk.domain.catalog import Catalog
from kiosk.domain.labels import Receipt, TicketLabel
from kiosk.domain.model import CheckinRecord, Movement, TicketRecord
from kiosk.domain.outbox import OutboxEvent
from kiosk.domain.print_jobs import JobState, NewPrintJob, PrintJob
from kiosk.domain.receipts import SaleReceipt, SoldTicket
from kiosk.domain.sales import Cart, Settlement
from kiosk.domain.scan_input import ScanTrace
from kiosk.domain.sync_state import AgentSyncState
from kiosk.domain.verdicts import GateContext, Verdict


@dataclass
class Order:
    order_ref: str
    sold_at: datetime
    settlement: Settlement
    cart: Cart


@dataclass
class Memory:
    catalog: Catalog
    tickets: dict[int, tuple[TicketRecord, str]] = field(default_factory=dict)  # id → (ticket, source)
    revoked: set[int] = field(default_factory=set)
    checkins: list[CheckinRecord] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (scan id, verdict code, stored text)
    outbox: list[OutboxEvent] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    jobs: dict[str, tuple[PrintJob, bytes]] = field(default_factory=dict)
    agent: AgentSyncState | None = None
    dead_letters: int = 0


class FakeStore:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.path = Path("/nonexistent/fake.sqlite")
        self.writes = 0

    @contextmanager
    def write(self) -> Iterator[Memory]:
        saved = copy.deepcopy(self.memory.__dict__)
        self.writes += 1
        try:
            yield self.memory
        except BaseException:
            self.memory.__dict__.update(saved)  # roll back
            raise

    @contextmanager
    def read(self) -> Iterator[Memory]:
        yield self.memory


def memory_of(venue: DemoVenue) -> Memory:
    """The demo venue as rows, its revocations applied (what install_demo_venue writes to SQLite)."""
    memory = Memory(venue.catalog, {tk.ticket_id: (tk, "demo") for tk in venue.tickets})
    for i, (code, expected) in enumerate(venue.expected):
        if expected.startswith("revoked:"):
            memory.revoked.add(int(expected.split(":", 1)[1]))
            venue.expected[i] = (code, "revoked")
    return memory


class FakeCatalogs:
    def version(self, conn: Memory) -> str:
        return conn.catalog.version

    def load(self, conn: Memory) -> Catalog:
        return conn.catalog


class FakeTickets:
    def by_code(self, conn: Memory, code: str) -> TicketRecord | None:
        return next((tk for tk, _ in conn.tickets.values() if tk.code == code), None)

    def by_id(self, conn: Memory, ticket_id: int) -> TicketRecord | None:
        row = conn.tickets.get(ticket_id)
        return row[0] if row else None

    def upsert(self, conn: Memory, tickets: Iterable[TicketRecord], source: str = "list") -> int:
        n = 0
        for tk in tickets:
            conn.tickets[tk.ticket_id] = (tk, source)
            n += 1
        return n

    def code_owners(self, conn: Memory) -> dict[str | None, int]:
        return {tk.code: tid for tid, (tk, _) in conn.tickets.items()}

    def is_revoked(self, conn: Memory, ticket_id: int) -> bool:
        return ticket_id in conn.revoked

    def history(self, conn: Memory, ticket_id: int) -> tuple[CheckinRecord, ...]:
        return tuple(sorted((c for c in conn.checkins if c.ticket_id == ticket_id), key=lambda c: c.at))

    def record_movement(self, conn: Memory, scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> None:
        assert verdict.ticket is not None and verdict.movement is not None
        conn.checkins.append(
            CheckinRecord(
                scan_id, verdict.ticket.ticket_id, verdict.movement, at, ctx.device_id, ctx.gate, verdict.performance_id
            )
        )

    def record_failed(
        self, conn: Memory, scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime, seen: ScanTrace
    ) -> None:
        conn.failed.append((scan_id, verdict.code.value, seen.prefix))


class FakeOutbox:
    def append(self, conn: Memory, event: OutboxEvent) -> int:
        conn.outbox.append(event)
        return len(conn.outbox)

    def pending_count(self, conn: Memory) -> int:
        return len(conn.outbox)

    def oldest_pending_at(self, conn: Memory) -> datetime | None:
        return conn.outbox[0].occurred_at if conn.outbox else None


class FakeSales:
    def add_order(
        self,
        conn: Memory,
        *,
        order_id: str,
        order_ref: str,
        device_id: str,
        cart: Cart,
        settlement: Settlement,
        sold_at: datetime,
        lang: str,
    ) -> None:
        assert order_id not in conn.orders, "the service must look the order up before selling it again"
        conn.orders[order_id] = Order(order_ref, sold_at, settlement, cart)

    def find(self, conn: Memory, order_id: str) -> SaleReceipt | None:
        order = conn.orders.get(order_id)
        if order is None:
            return None
        sold = sorted(
            (tk for tk, source in conn.tickets.values() if source == "sale" and tk.order_ref == order.order_ref),
            key=lambda tk: tk.ticket_id,
        )
        made = tuple(SoldTicket(tk.ticket_id, tk.code or "", tk.tariff_id, tk.performance_id or 0) for tk in sold)
        return SaleReceipt(order_id, order.order_ref, order.sold_at, order.settlement, made, repeated=True)


class FakePrintJobs:
    def add(self, conn: Memory, job: NewPrintJob) -> None:
        seq = len(conn.jobs) + 1
        row = PrintJob(
            job.job_id,
            seq,
            job.kind,
            job.ticket_id,
            job.format,
            job.dpi,
            job.lang,
            job.copy,
            job.reprint_of,
            JobState.QUEUED,
            0,
            "",
            "",
            job.created_at,
            job.created_at,
        )
        conn.jobs[job.job_id] = (row, job.zpl)

    def get(self, conn: Memory, job_id: str) -> PrintJob | None:
        row = conn.jobs.get(job_id)
        return row[0] if row else None

    def zpl(self, conn: Memory, job_id: str) -> bytes:
        return conn.jobs[job_id][1]

    def next_queued(self, conn: Memory) -> PrintJob | None:
        queued = [j for j, _ in conn.jobs.values() if j.state is JobState.QUEUED]
        return min(queued, key=lambda j: j.seq) if queued else None

    def jobs(self, conn: Memory, states: Iterable[JobState] | None = None, limit: int = 100) -> list[PrintJob]:
        wanted = None if states is None else set(states)
        rows = [j for j, _ in conn.jobs.values() if wanted is None or j.state in wanted]
        return sorted(rows, key=lambda j: -j.seq)[:limit]

    def count(self, conn: Memory, state: JobState) -> int:
        return sum(1 for j, _ in conn.jobs.values() if j.state is state)

    def mark(
        self,
        conn: Memory,
        job_id: str,
        state: JobState,
        now: datetime,
        *,
        status: str | None = None,
        error: str | None = None,
        attempt: bool = False,
    ) -> None:
        job, zpl = conn.jobs[job_id]
        job = replace(
            job,
            state=state,
            updated_at=now,
            last_status=job.last_status if status is None else status,
            error=job.error if error is None else error,
            attempts=job.attempts + (1 if attempt else 0),
        )
        conn.jobs[job_id] = (job, zpl)

    def ids_in_state(self, conn: Memory, state: JobState) -> list[str]:
        return [j.job_id for j, _ in conn.jobs.values() if j.state is state]

    def cancel_queued(self, conn: Memory, job_id: str, now: datetime, error: str) -> bool:
        job = self.get(conn, job_id)
        if job is None or job.state is not JobState.QUEUED:
            return False
        self.mark(conn, job_id, JobState.FAILED, now, error=error)
        return True

    def highest_copy(self, conn: Memory, ticket_id: int) -> int | None:
        copies = [j.copy for j, _ in conn.jobs.values() if j.ticket_id == ticket_id]
        return max(copies) if copies else None


class FakeStatus:
    def admitted_since(self, conn: Memory, since: datetime, gate: str | None) -> int:
        return sum(
            1
            for c in conn.checkins
            if c.at >= since and (gate is None or c.gate == gate) and c.movement is not Movement.EXIT
        )

    def inside_since(self, conn: Memory, since: datetime) -> int:
        last: dict[int, CheckinRecord] = {}
        for c in sorted(conn.checkins, key=lambda c: c.at):
            if c.at >= since:
                last[c.ticket_id] = c
        return sum(1 for c in last.values() if c.movement is not Movement.EXIT)

    def dead_letter_count(self, conn: Memory) -> int:
        return conn.dead_letters

    def last_rejection(self, conn: Memory) -> str:
        return ""

    def wipe_requested(self, conn: Memory) -> bool:
        return False

    def agent_state(self, conn: Memory) -> AgentSyncState | None:
        return conn.agent


class FakeRenderer:
    """Readable "ZPL": enough to see which label was rendered, in which format, copy and language."""

    def ticket(self, label: TicketLabel, fmt: str, dpi: int) -> bytes:
        if fmt not in ("show", "cinema"):
            raise ValueError(f"unknown format {fmt}")
        return f"TICKET {label.code} {fmt} {dpi} copy={label.copy} lang={label.lang}".encode()

    def receipt(self, receipt: Receipt, dpi: int) -> bytes:
        return f"RECEIPT {receipt.order_ref} {dpi}".encode()

    def png(self, zpl: bytes, dpi: int) -> bytes:
        return b"\x89PNG" + zpl
