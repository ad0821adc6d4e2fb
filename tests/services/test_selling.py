"""Selling on a real SQLite file: one transaction for order, signed tickets, outbox and print jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import Store, open_store
from kiosk.adapters.store.sales_tables import sales_order_lines, sales_orders
from kiosk.compose_services import print_journal, scanning_service, selling_service
from kiosk.demo import venue as dv
from kiosk.domain.catalog import Catalog
from kiosk.domain.sales import Cart, Payment, PaymentMethod, SaleError
from kiosk.services.selling import SaleReceipt, SalesKey, SellingNotAllowed, SellingService

pytestmark = pytest.mark.all_dates  # door and sales logic runs at each of the fixed instants


def sales_key(db_path: Path) -> SalesKey:
    keys = dv.read_private_keys(db_path.with_name("keys.json"))
    return SalesKey(dv.SALES_KIOSK_KEY_ID, keys[dv.SALES_KIOSK_KEY_ID])


def service(
    store: Store, db_path: Path, now: datetime, *, can_sell: bool = True, labels: object = None
) -> SellingService:
    return selling_service(
        store, "kiosk-sales-1", can_sell=can_sell, sales_key=sales_key(db_path), labels=labels, clock=lambda: now
    )  # type: ignore[arg-type]


def festival_cart(catalog: Catalog) -> Cart:
    c = Cart(dv.PERF_TODAY, dv.FESTIVAL)
    return c.set_quantity(catalog.tariffs[dv.T_FULL], 2).set_quantity(catalog.tariffs[dv.T_CHILD], 1)


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            "orders": conn.execute(select(func.count()).select_from(sales_orders)).scalar_one(),
            "sale_tickets": conn.execute(
                select(func.count()).select_from(t.tickets).where(t.tickets.c.source == "sale")
            ).scalar_one(),
            "sale_events": conn.execute(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.kind == "sale")
            ).scalar_one(),
        }


def test_a_sale_writes_order_tickets_and_outbox_and_the_codes_admit(demo_venue, db_path, demo_now) -> None:
    store, venue = demo_venue
    svc = service(store, db_path, demo_now)
    receipt = svc.sell("order-1", festival_cart(venue.catalog), Payment(PaymentMethod.CASH, tendered=Decimal("200")))
    assert receipt.settlement.due == Decimal("105.00") and receipt.settlement.change == Decimal("95.00")
    assert len(receipt.tickets) == 3 and not receipt.repeated
    assert counts(store) == {"orders": 1, "sale_tickets": 3, "sale_events": 1}
    with store.read() as conn:
        lines = {r.tariff_id: r.quantity for r in conn.execute(select(sales_order_lines))}
        event = json.loads(conn.execute(select(t.outbox.c.payload).where(t.outbox.c.kind == "sale")).scalar_one())
    assert lines == {dv.T_FULL: 2, dv.T_CHILD: 1}
    assert event["order_id"] == "order-1" and event["payment"]["due"] == "105.00"
    assert sorted(x["ticket_id"] for x in event["tickets"]) == sorted(x.ticket_id for x in receipt.tickets)
    scanner = scanning_service(store, "door-1", clock=lambda: demo_now)
    verdicts = [scanner.scan(x.code, "main").verdict.code.value for x in receipt.tickets]
    assert verdicts == ["valid", "valid", "valid"]


def test_a_code_sold_here_is_valid_on_a_door_that_has_no_list(demo_venue, db_path, demo_now, tmp_path) -> None:
    """Signed with the sales key: another device that only knows the catalog admits it."""
    store, venue = demo_venue
    receipt = service(store, db_path, demo_now).sell(
        "o", festival_cart(venue.catalog), Payment(PaymentMethod.CARD, reference="T-0042")
    )
    other = open_store(tmp_path / "other.sqlite", create=True)
    dv.install_demo_venue(other, dv.DemoVenue(venue.catalog), None, demo_now)
    result = scanning_service(other, "door-2", clock=lambda: demo_now).scan(receipt.tickets[0].code, "main")
    assert result.verdict.code.value == "valid"
    other.close()


def test_door_only_device_is_refused_in_the_service(demo_venue, db_path, demo_now) -> None:
    store, venue = demo_venue
    svc = service(store, db_path, demo_now, can_sell=False)
    with pytest.raises(SellingNotAllowed):
        svc.sell("o", festival_cart(venue.catalog), Payment(PaymentMethod.CASH, tendered=Decimal("200")))
    assert counts(store) == {"orders": 0, "sale_tickets": 0, "sale_events": 0}
    no_key = selling_service(store, "x", can_sell=True, sales_key=None)
    with pytest.raises(SellingNotAllowed):
        no_key.sell("o", festival_cart(venue.catalog), Payment(PaymentMethod.CASH, tendered=Decimal("200")))


def test_a_retried_confirmation_sells_once(demo_venue, db_path, demo_now) -> None:
    store, venue = demo_venue
    svc = service(store, db_path, demo_now)
    pay = Payment(PaymentMethod.CASH, tendered=Decimal("105"))
    first = svc.sell("same", festival_cart(venue.catalog), pay)
    again = svc.sell("same", festival_cart(venue.catalog), pay)
    assert again.repeated and again.order_ref == first.order_ref
    assert sorted(x.code for x in again.tickets) == sorted(x.code for x in first.tickets)
    assert counts(store) == {"orders": 1, "sale_tickets": 3, "sale_events": 1}


def test_refusals_write_nothing(demo_venue, db_path, demo_now) -> None:
    store, venue = demo_venue
    svc = service(store, db_path, demo_now)
    pay = Payment(PaymentMethod.CASH, tendered=Decimal("500"))
    stale = festival_cart(venue.catalog)
    stale = Cart(stale.performance_id, stale.event_id, (stale.lines[0].__class__(dv.T_FULL, {}, Decimal("40"), 1),))
    yesterday = Cart(dv.PERF_YESTERDAY, dv.FESTIVAL).set_quantity(venue.catalog.tariffs[dv.T_FULL], 1)
    wrong_event = Cart(dv.PERF_JAZZ, dv.FESTIVAL).set_quantity(venue.catalog.tariffs[dv.T_FULL], 1)
    cases = ((stale, "price_changed"), (yesterday, "performance_over"), (wrong_event, "performance_unknown"))
    for bad, reason in cases:
        with pytest.raises(SaleError) as err:
            svc.sell("o", bad, pay)
        assert err.value.reason == reason
    assert counts(store) == {"orders": 0, "sale_tickets": 0, "sale_events": 0}


class ExplodingLabels:
    def enqueue_sale(self, conn: Connection, receipt: SaleReceipt, catalog: Catalog, lang: str) -> list[str]:
        raise OSError("disk full while writing the print journal")


def test_a_failure_inside_the_transaction_leaves_no_half_sale(demo_venue, db_path, demo_now) -> None:
    store, venue = demo_venue
    svc = service(store, db_path, demo_now, labels=ExplodingLabels())
    with pytest.raises(OSError):
        svc.sell("o", festival_cart(venue.catalog), Payment(PaymentMethod.CASH, tendered=Decimal("200")))
    assert counts(store) == {"orders": 0, "sale_tickets": 0, "sale_events": 0}


_CHILD = """
import os, sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from kiosk.adapters.store.engine import open_store
from kiosk.domain.sales import Cart, Payment, PaymentMethod
from kiosk.demo import venue as dv
from kiosk.compose_services import selling_service
from kiosk.services.selling import SalesKey
db = Path(sys.argv[1]); now = datetime.fromisoformat(sys.argv[2])
store = open_store(db)
key = dv.read_private_keys(db.with_name("keys.json"))[dv.SALES_KIOSK_KEY_ID]
svc = selling_service(store, "k", can_sell=True, sales_key=SalesKey(dv.SALES_KIOSK_KEY_ID, key), clock=lambda: now)
cat = svc.catalog()
cart = Cart(dv.PERF_TODAY, dv.FESTIVAL).set_quantity(cat.tariffs[dv.T_FULL], 2)
r = svc.sell("crash-order", cart, Payment(PaymentMethod.CASH, tendered=Decimal("100")))
print(r.order_ref, flush=True)      # the moment the buyer is told "done"
os.kill(os.getpid(), 9)             # then the power goes
"""


def test_killed_right_after_confirming_loses_nothing(demo_venue, db_path, demo_now) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db_path), demo_now.isoformat()],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert proc.returncode == -9, proc.stderr
    told = proc.stdout.strip()
    assert told.startswith("W")
    fresh = open_store(db_path)
    assert counts(fresh) == {"orders": 1, "sale_tickets": 2, "sale_events": 1}
    with fresh.read() as conn:
        assert conn.execute(select(sales_orders.c.order_ref)).scalar_one() == told
    fresh.close()


def test_print_jobs_are_journalled_in_the_sale_transaction(demo_venue, db_path, demo_now) -> None:
    """With the real print journal: one queued job per ticket commits with the sale, none when it rolls back."""
    from kiosk.adapters.store.print_tables import print_jobs
    from kiosk.ui.printing_port import SaleLabels

    store, venue = demo_venue
    labels = SaleLabels(print_journal())
    receipt = service(store, db_path, demo_now, labels=labels).sell(
        "o", festival_cart(venue.catalog), Payment(PaymentMethod.CASH, tendered=Decimal("200"))
    )
    with store.read() as conn:
        jobs = conn.execute(select(print_jobs.c.job_id, print_jobs.c.ticket_id, print_jobs.c.state)).all()
    assert sorted(j.job_id for j in jobs) == sorted(receipt.print_jobs)
    assert sorted(j.ticket_id for j in jobs) == sorted(x.ticket_id for x in receipt.tickets)
    assert {j.state for j in jobs} == {"queued"}

    class LabelsThenCrash(SaleLabels):
        def enqueue_sale(self, conn, receipt, catalog, lang):  # type: ignore[no-untyped-def]
            super().enqueue_sale(conn, receipt, catalog, lang)  # the jobs are written...
            raise OSError("power cut before the commit")  # ...and the transaction never commits

    with pytest.raises(OSError):
        service(store, db_path, demo_now, labels=LabelsThenCrash(print_journal())).sell(
            "o2", festival_cart(venue.catalog), Payment(PaymentMethod.CASH, tendered=Decimal("200"))
        )
    with store.read() as conn:
        assert len(conn.execute(select(print_jobs.c.job_id)).all()) == 3
