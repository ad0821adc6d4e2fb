"""sales: walk-up orders and their lines"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kiosk.adapters.store.tables as kt

revision = "0004_sales"
down_revision = "0001"
branch_labels = ("sales",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sales_orders",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("order_ref", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.Column("sold_at", kt.UtcDateTime(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("total", kt.Money(), nullable=False),
        sa.Column("due", kt.Money(), nullable=False),
        sa.Column("rounding", kt.Money(), nullable=False),
        sa.Column("tendered", kt.Money(), nullable=False),
        sa.Column("change", kt.Money(), nullable=False),
        sa.Column("card_reference", sa.String(length=32), server_default="", nullable=False),
        sa.Column("lang", sa.String(length=2), server_default="fr", nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
        sa.UniqueConstraint("order_ref"),
    )
    op.create_table(
        "sales_order_lines",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("tariff_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", kt.Money(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["sales_orders.order_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("order_id", "tariff_id"),
    )


def downgrade() -> None:
    op.drop_table("sales_order_lines")
    op.drop_table("sales_orders")
