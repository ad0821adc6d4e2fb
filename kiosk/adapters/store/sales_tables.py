"""Walk-up sale tables: one row per order (payment and totals) and one per cart line; tickets go to `tickets`.

Sold tickets are ordinary rows of the foundation `tickets` table (source "sale", with the order's reference), so a
door on the same device admits them like any other ticket, and their signed code lets every other door admit them.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from kiosk.adapters.store.tables import Money, UtcDateTime, metadata

sales_orders = Table(
    "sales_orders",
    metadata,
    Column("order_id", String(36), primary_key=True),  # made by the UI when the buyer confirms: the idempotency key
    Column("order_ref", String(32), nullable=False, unique=True),  # short, printed on the label and receipt
    Column("device_id", String(64), nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("performance_id", Integer, nullable=False),
    Column("sold_at", UtcDateTime, nullable=False),
    Column("method", String(16), nullable=False),
    Column("total", Money, nullable=False),
    Column("due", Money, nullable=False),
    Column("rounding", Money, nullable=False),
    Column("tendered", Money, nullable=False),
    Column("change", Money, nullable=False),
    Column("card_reference", String(32), nullable=False, server_default=""),
    Column("lang", String(2), nullable=False, server_default="fr"),
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    Column("order_id", String(36), ForeignKey("sales_orders.order_id", ondelete="CASCADE"), primary_key=True),
    Column("tariff_id", Integer, primary_key=True, autoincrement=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
)
