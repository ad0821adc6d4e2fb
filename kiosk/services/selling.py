"""Walk-up selling: cart + payment → order, signed tickets, a "sale" outbox event and print jobs, in one transaction.

The buyer is told "paid, printing" only after that transaction committed (synchronous=FULL), so a crash or a
kill -9 right after the confirmation loses nothing: the tickets exist, central will hear of the sale, and the print
journal still holds the labels. The order id is made by the UI when the buyer confirms; a retried confirmation with
the same id returns the first receipt instead of selling twice.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.domain import codes
from kiosk.domain.catalog import Catalog
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.events import SaleTicket
from kiosk.domain.model import TicketRecord
from kiosk.domain.outbox import EventKind, OutboxEvent, sale_event
from kiosk.domain.receipts import SaleReceipt, SoldTicket
from kiosk.domain.sales import Cart, Payment, SaleError, Settlement, settle
from kiosk.services.ports import (
    CatalogRepository,
    LabelQueue,
    OutboxRepository,
    SalesRepository,
    StorePort,
    TicketRepository,
    Tx,
)

# The receipt values and the label queue port are defined elsewhere; importers keep taking them from here.
__all__ = [
    "LabelQueue",
    "SaleReceipt",
    "SalesKey",
    "SellingNotAllowed",
    "SellingService",
    "SoldTicket",
    "new_order_id",
]

SALE_EVENT_KIND = EventKind.SALE
_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWX"  # no 0/O, 1/I: read aloud at a counter


class SellingNotAllowed(SaleError):
    """This device's role does not allow selling (a door-only kiosk)."""

    reason = "device_cannot_sell"

    def __init__(self) -> None:
        super().__init__("device_cannot_sell")


@dataclass(frozen=True)
class SalesKey:
    """The device's own signing key: every door trusts its public half (an issuer key in the catalog)."""

    key_id: int
    private_key: Ed25519PrivateKey


def new_ticket_id() -> int:
    return secrets.randbits(62) + 1


def new_order_ref() -> str:
    return "W" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(7))


def new_order_id() -> str:
    return str(uuid.uuid4())


class SellingService:
    """One per device. `can_sell` comes from the config's role; a door-only device is refused here, not in the UI."""

    def __init__(
        self,
        store: StorePort,
        device_id: str,
        *,
        catalogs: CatalogRepository,
        tickets: TicketRepository,
        outbox: OutboxRepository,
        sales: SalesRepository,
        can_sell: bool,
        sales_key: SalesKey | None,
        labels: LabelQueue | None = None,
        clock: Clock = system_clock,
        ticket_ids: Callable[[], int] = new_ticket_id,
        order_refs: Callable[[], str] = new_order_ref,
    ) -> None:
        self._store = store
        self.device_id = device_id
        self.can_sell = can_sell and sales_key is not None
        self._key = sales_key
        self._labels = labels
        self._clock = clock
        self._ticket_ids = ticket_ids
        self._order_refs = order_refs
        self._catalogs = catalogs
        self._tickets = tickets
        self._outbox = outbox
        self._sales = sales

    def catalog(self) -> Catalog:
        with self._store.read() as conn:
            return self._catalogs.load(conn)

    def sell(self, order_id: str, cart: Cart, payment: Payment, lang: str = "fr") -> SaleReceipt:
        """Record the sale durably and return its receipt; raises SaleError (nothing written) when it cannot."""
        if not self.can_sell or self._key is None:
            raise SellingNotAllowed
        settlement = settle(cart, payment)
        now = self._clock()
        with self._store.write() as conn:
            earlier = self._sales.find(conn, order_id)
            if earlier is not None:
                return earlier
            catalog = self._catalogs.load(conn)
            self._check_against_catalog(cart, catalog, now)
            receipt = self._write(conn, order_id, cart, settlement, now, lang)
            jobs: list[str] = []
            if self._labels is not None:
                jobs = self._labels.enqueue_sale(conn, receipt, catalog, lang)
            self._outbox.append(conn, _sale_event(receipt, cart, self.device_id, self._key.key_id))
            return SaleReceipt(
                receipt.order_id, receipt.order_ref, now, settlement, receipt.tickets, tuple(jobs), repeated=False
            )

    def _check_against_catalog(self, cart: Cart, catalog: Catalog, now: datetime) -> None:
        perf = catalog.performances.get(cart.performance_id)
        if perf is None or perf.event_id != cart.event_id:
            raise SaleError("performance_unknown")
        if perf.closes < now:
            raise SaleError("performance_over")
        for line in cart.lines:
            tariff = catalog.tariffs.get(line.tariff_id)
            if tariff is None or (tariff.event_id is not None and tariff.event_id != cart.event_id):
                raise SaleError("tariff_unknown")
            # The buyer agreed to the price on screen; if the catalog changed since, they must see the new one.
            if tariff.price != line.unit_price:
                raise SaleError("price_changed")

    def _write(
        self, conn: Tx, order_id: str, cart: Cart, settlement: Settlement, now: datetime, lang: str
    ) -> SaleReceipt:
        assert self._key is not None
        order_ref = self._order_refs()
        self._sales.add_order(
            conn,
            order_id=order_id,
            order_ref=order_ref,
            device_id=self.device_id,
            cart=cart,
            settlement=settlement,
            sold_at=now,
            lang=lang,
        )
        sold: list[SoldTicket] = []
        records: list[TicketRecord] = []
        for line in cart.lines:
            for _ in range(line.quantity):
                tid = self._ticket_ids()
                claims = codes.TicketClaims(
                    tid, cart.event_id, line.tariff_id, self._key.key_id, performance_id=cart.performance_id
                )
                code = codes.issue(claims, self._key.private_key)
                sold.append(SoldTicket(tid, code, line.tariff_id, cart.performance_id))
                records.append(
                    TicketRecord(
                        tid, cart.event_id, line.tariff_id, cart.performance_id, code=code, order_ref=order_ref
                    )
                )
        self._tickets.upsert(conn, records, source="sale")
        return SaleReceipt(order_id, order_ref, now, settlement, tuple(sold))


def _sale_event(receipt: SaleReceipt, cart: Cart, device_id: str, key_id: int) -> OutboxEvent:
    sold = [
        SaleTicket(ticket_id=t.ticket_id, code=t.code, tariff_id=t.tariff_id, key_id=key_id) for t in receipt.tickets
    ]
    return sale_event(receipt.order_id, receipt.order_ref, device_id, cart, receipt.settlement, sold, receipt.sold_at)
