"""Walk-up sales in the device store: an order row, its cart lines, and the receipt of an order already sold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select

from kiosk.adapters.store.sales_tables import sales_order_lines, sales_orders
from kiosk.adapters.store.tables import tickets
from kiosk.domain.receipts import SaleReceipt, SoldTicket
from kiosk.domain.sales import Cart, PaymentMethod, Settlement


class SqlSalesRepository:
    """`sales_orders` + `sales_order_lines`; the sold tickets are `tickets` rows with source "sale"."""

    def add_order(
        self,
        conn: Connection,
        *,
        order_id: str,
        order_ref: str,
        device_id: str,
        cart: Cart,
        settlement: Settlement,
        sold_at: datetime,
        lang: str,
    ) -> None:
        conn.execute(
            insert(sales_orders).values(
                order_id=order_id,
                order_ref=order_ref,
                device_id=device_id,
                event_id=cart.event_id,
                performance_id=cart.performance_id,
                sold_at=sold_at,
                method=settlement.method.value,
                total=settlement.total,
                due=settlement.due,
                rounding=settlement.rounding,
                tendered=settlement.tendered,
                change=settlement.change,
                card_reference=settlement.reference,
                lang=lang[:2],
            )
        )
        conn.execute(
            insert(sales_order_lines),
            [
                {"order_id": order_id, "tariff_id": x.tariff_id, "quantity": x.quantity, "unit_price": x.unit_price}
                for x in cart.lines
            ],
        )

    def find(self, conn: Connection, order_id: str) -> SaleReceipt | None:
        row = conn.execute(select(sales_orders).where(sales_orders.c.order_id == order_id)).first()
        if row is None:
            return None
        settlement = Settlement(
            PaymentMethod(row.method), row.total, row.due, row.rounding, row.tendered, row.change, row.card_reference
        )
        sold = conn.execute(
            select(tickets)
            .where(tickets.c.order_ref == row.order_ref, tickets.c.source == "sale")
            .order_by(tickets.c.ticket_id)
        )
        made = tuple(SoldTicket(r.ticket_id, r.code, r.tariff_id, r.performance_id) for r in sold)
        return SaleReceipt(row.order_id, row.order_ref, row.sold_at, settlement, made, repeated=True)
