"""identity: the one-row store_identity table (device id, venue id, role of the store's owner)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kiosk.adapters.store.tables as kt

revision = "0005_identity"
down_revision = "0001"
branch_labels = ("identity",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("venue_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", kt.UtcDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_store_identity_one_row"),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("store_identity")
