"""The services alone, on in-memory fakes of their ports (tests/services/fakes.py): no SQLite, no printer.

The same rules the SQLite tests check end to end, here proving the services need nothing but their ports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from kiosk.adapters.recording_printer import RecordingPrinter
from kiosk.demo import venue as dv
from kiosk.domain.clock import SteppingClock
from kiosk.domain.labels import LabelError
from kiosk.domain.model import Direction
from kiosk.domain.print_jobs import JobState
from kiosk.domain.printer import PrinterStatus
from kiosk.domain.sales import Cart, Payment, PaymentMethod, SaleError
from kiosk.domain.sync_state import AgentSyncState
from kiosk.services.kiosk_status import KioskStatus
from kiosk.services.print_journal import REPRINT_EVENT, PrintJournal
from kiosk.services.printing import PrintWorker
from kiosk.services.scanning import ScanningService
from kiosk.services.selling import SalesKey, SellingNotAllowed, SellingService
from kiosk.ui.printing_port import SaleLabels
from tests.services.fakes import (
    FakeCatalogs,
    FakeOutbox,
    FakePrintJobs,
    FakeRenderer,
    FakeSales,
    FakeStatus,
    FakeStore,
    FakeTickets,
    memory_of,
)

pytestmark = pytest.mark.all_dates


@pytest.fixture
def venue(frozen_now: datetime) -> dv.DemoVenue:
    return dv.build_demo_venue(frozen_now, 200, seed=7)  # the demo mix: every verdict occurs


@pytest.fixture
def store(venue: dv.DemoVenue) -> FakeStore:
    return FakeStore(memory_of(venue))


@pytest.fixture
def clock(frozen_now: datetime) -> SteppingClock:
    return SteppingClock(frozen_now)


def door(store: FakeStore, clock: SteppingClock, device: str = "door-1") -> ScanningService:
    return ScanningService(
        store, device, catalogs=FakeCatalogs(), tickets=FakeTickets(), outbox=FakeOutbox(), clock=clock
    )


def journal() -> PrintJournal:
    return PrintJournal(
        jobs=FakePrintJobs(),
        tickets=FakeTickets(),
        catalogs=FakeCatalogs(),
        outbox=FakeOutbox(),
        renderer=FakeRenderer(),
    )


def till(store: FakeStore, venue: dv.DemoVenue, clock: SteppingClock, **kw: object) -> SellingService:
    key = SalesKey(dv.SALES_KIOSK_KEY_ID, venue.private_keys[dv.SALES_KIOSK_KEY_ID])
    options: dict[str, object] = {"can_sell": True, "sales_key": key, **kw}
    return SellingService(
        store,
        "kiosk-sales-1",
        catalogs=FakeCatalogs(),
        tickets=FakeTickets(),
        outbox=FakeOutbox(),
        sales=FakeSales(),
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


def first(venue: dv.DemoVenue, verdict: str) -> str:
    return next(code for code, v in venue.expected if v == verdict)


def test_a_scan_judges_records_and_queues_its_event_through_the_ports(store, venue, clock) -> None:
    service = door(store, clock)
    result = service.scan(first(venue, "valid"), "main")
    assert result.verdict.code.value == "valid" and not result.repeated
    memory = store.memory
    assert [c.scan_id for c in memory.checkins] == [result.scan_id]
    assert [(e.event_id, e.kind) for e in memory.outbox] == [(result.scan_id, "checkin")]
    clock.advance(timedelta(seconds=1))
    assert service.scan(first(venue, "valid"), "main").repeated  # the debounce: nothing new written
    assert len(memory.checkins) == 1 and len(memory.outbox) == 1
    clock.advance(timedelta(seconds=10))
    again = service.scan(first(venue, "valid"), "main")
    assert again.verdict.code.value == "already_used" and len(memory.checkins) == 1
    assert [e.kind for e in memory.outbox] == ["checkin", "failed_scan"]


def test_refusals_are_recorded_as_failed_scans_with_their_reason(store, venue, clock) -> None:
    service = door(store, clock).with_debounce(timedelta(0))
    for verdict in ("unknown", "revoked", "cancelled", "invalid_signature"):
        assert service.scan(first(venue, verdict), "main").verdict.code.value == verdict
    assert [f[1] for f in store.memory.failed] == ["unknown", "revoked", "cancelled", "invalid_signature"]
    assert store.memory.checkins == []


def test_exit_then_reentry_moves_the_door_counters(store, venue, clock) -> None:
    service = door(store, clock).with_debounce(timedelta(0))
    status = KioskStatus(store, catalogs=FakeCatalogs(), outbox=FakeOutbox(), status=FakeStatus())
    codes = [code for code, v in venue.expected if v == "valid"][:2]
    for code in codes:
        service.scan(code, "main")
    clock.advance(timedelta(seconds=1))
    assert service.scan(codes[0], "main", Direction.EXIT).verdict.code.value == "exit_recorded"
    counters = status.door_counters(clock())
    assert (counters.admitted_today, counters.inside_now) == (2, 1)
    clock.advance(timedelta(seconds=1))
    assert service.scan(codes[0], "main").verdict.detail == "reentry"
    counters = status.door_counters(clock())
    assert (counters.admitted_today, counters.inside_now) == (3, 2)


def test_the_sync_view_merges_the_agents_row_with_the_local_outbox(store, venue, clock) -> None:
    status = KioskStatus(store, catalogs=FakeCatalogs(), outbox=FakeOutbox(), status=FakeStatus())
    door(store, clock).scan(first(venue, "valid"), "main")
    store.memory.dead_letters = 2
    before = status.sync()
    assert (before.online, before.pending, before.dead_letters, before.data_at) == (False, 1, 2, None)
    assert before.catalog_version == venue.catalog.version and before.stale(clock())
    store.memory.agent = AgentSyncState(True, 5, "", clock() - timedelta(minutes=1), "online")
    after = status.sync()
    assert (after.online, after.pending, after.dead_letters, after.text) == (True, 1, 5, "online")
    assert after.catalog_version == venue.catalog.version and not after.stale(clock())


def test_a_sale_writes_order_tickets_event_and_labels_in_one_transaction(store, venue, clock) -> None:
    labels = SaleLabels(journal())
    service = till(store, venue, clock, labels=labels)
    cart = Cart(dv.PERF_TODAY, dv.FESTIVAL).set_quantity(venue.catalog.tariffs[dv.T_FULL], 2)
    receipt = service.sell("order-1", cart, Payment(PaymentMethod.CASH, tendered=Decimal("100")))
    memory = store.memory
    assert len(receipt.tickets) == 2 and len(receipt.print_jobs) == 2 and not receipt.repeated
    assert list(memory.orders) == ["order-1"] and [e.kind for e in memory.outbox] == ["sale"]
    assert {memory.jobs[j][0].ticket_id for j in receipt.print_jobs} == {x.ticket_id for x in receipt.tickets}
    assert all(memory.jobs[j][1].startswith(b"TICKET ") for j in receipt.print_jobs)
    again = service.sell("order-1", cart, Payment(PaymentMethod.CASH, tendered=Decimal("100")))
    assert again.repeated and again.order_ref == receipt.order_ref
    assert {x.ticket_id for x in again.tickets} == {x.ticket_id for x in receipt.tickets}
    assert len(memory.orders) == 1 and len(memory.outbox) == 1 and len(memory.jobs) == 2
    codes = [door(store, clock).with_debounce(timedelta(0)).scan(x.code, "main") for x in receipt.tickets]
    assert [r.verdict.code.value for r in codes] == ["valid", "valid"]


def test_a_failing_label_leaves_nothing_of_the_sale(store, venue, clock) -> None:
    class Broken:
        def enqueue_sale(self, *args: object) -> list[str]:
            raise LabelError("the label does not fit")

    service = till(store, venue, clock, labels=Broken())
    cart = Cart(dv.PERF_TODAY, dv.FESTIVAL).set_quantity(venue.catalog.tariffs[dv.T_FULL], 1)
    tickets_before = len(store.memory.tickets)
    with pytest.raises(LabelError):
        service.sell("order-2", cart, Payment(PaymentMethod.CARD, reference="T-1"))
    assert store.memory.orders == {} and store.memory.outbox == [] and len(store.memory.tickets) == tickets_before


def test_selling_is_refused_without_a_key_and_after_the_show(store, venue, clock) -> None:
    cart = Cart(dv.PERF_TODAY, dv.FESTIVAL).set_quantity(venue.catalog.tariffs[dv.T_FULL], 1)
    with pytest.raises(SellingNotAllowed):
        till(store, venue, clock, sales_key=None).sell("o", cart, Payment(PaymentMethod.CARD, reference="T-0042"))
    clock.set(venue.catalog.performances[dv.PERF_TODAY].closes + timedelta(minutes=1))
    with pytest.raises(SaleError) as refused:
        till(store, venue, clock).sell("o", cart, Payment(PaymentMethod.CARD, reference="T-0042"))
    assert refused.value.reason == "performance_over"
    assert store.memory.orders == {}


def test_reprint_makes_copy_two_and_a_reprint_event(store, venue, clock) -> None:
    j = journal()
    ticket = next(tk for tk, _ in store.memory.tickets.values() if tk.code and tk.performance_id)
    with store.write() as conn:
        job_id = j.enqueue(conn, ticket.ticket_id, now=clock(), lang="de")
        j.mark(conn, job_id, JobState.UNKNOWN, clock(), error="lost")
        again = j.reprint(conn, job_id, clock(), device_id="kiosk-sales-1", reason="jammed")
    copy = store.memory.jobs[again][0]
    assert (copy.copy, copy.reprint_of, copy.state) == (2, job_id, JobState.QUEUED)
    assert b"copy=2 lang=de" in store.memory.jobs[again][1]
    assert [(e.kind, e.event_id) for e in store.memory.outbox] == [(REPRINT_EVENT, again)]
    with store.write() as conn, pytest.raises(LabelError):
        j.enqueue(conn, 999, now=clock())  # no such ticket: the caller's transaction rolls back


def test_the_worker_prints_in_order_and_recovers_a_job_left_sent(store, venue, clock) -> None:
    j = journal()
    printable = [tk for tk, _ in store.memory.tickets.values() if tk.code and tk.performance_id][:3]
    with store.write() as conn:
        ids = [j.enqueue(conn, tk.ticket_id, now=clock()) for tk in printable]
        j.mark(conn, ids[0], JobState.SENT, clock())  # the kiosk died while sending it
    printer = RecordingPrinter()
    worker = PrintWorker(store, printer, j, clock=clock)
    with store.write() as conn:
        assert j.recover(conn, clock()) == [ids[0]]
    assert [worker.run_once(), worker.run_once(), worker.run_once()] == ["confirmed", "confirmed", "idle"]
    assert printer.sent == [store.memory.jobs[i][1] for i in ids[1:]]
    assert store.memory.jobs[ids[0]][0].state is JobState.UNKNOWN  # never printed twice automatically
    printer.status_now = PrinterStatus(paper_out=True)
    with store.write() as conn:
        waiting = j.enqueue(conn, printable[0].ticket_id, now=clock())
    assert worker.run_once() == "fault"
    assert (
        store.memory.jobs[waiting][0].state is JobState.QUEUED
        and "paper_out" in worker.journal.get(store.memory, waiting).last_status
    )  # type: ignore[union-attr]


def test_fakes_keep_to_the_ports() -> None:
    """Every member a repository or renderer port names exists on its fake (a port that grows fails here first)."""
    from kiosk.services import ports

    pairs = [
        (FakeCatalogs, ports.CatalogRepository),
        (FakeTickets, ports.TicketRepository),
        (FakeOutbox, ports.OutboxRepository),
        (FakeSales, ports.SalesRepository),
        (FakePrintJobs, ports.PrintJobRepository),
        (FakeStatus, ports.StatusRepository),
        (FakeRenderer, ports.LabelRenderer),
    ]
    for fake, port in pairs:
        wanted = {n for n in vars(port) if not n.startswith("_")}
        assert wanted <= set(dir(fake)), (fake.__name__, wanted - set(dir(fake)))
