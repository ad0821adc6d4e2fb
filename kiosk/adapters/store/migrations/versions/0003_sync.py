"""sync: agent status row, inbound counters, sync state (ticket-list seq, versions), applied commands"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kiosk.adapters.store.tables as kt

revision = "0003_sync"
down_revision = "0001"
branch_labels = ("sync",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_status",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("online", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("pending", sa.Integer(), server_default="0", nullable=False),
        sa.Column("oldest_pending_at", kt.UtcDateTime(), nullable=True),
        sa.Column("last_ack_at", kt.UtcDateTime(), nullable=True),
        sa.Column("dead_letters", sa.Integer(), server_default="0", nullable=False),
        sa.Column("data_at", kt.UtcDateTime(), nullable=True),
        sa.Column("catalog_version", sa.String(length=200), server_default="", nullable=False),
        sa.Column("text", sa.String(length=200), server_default="", nullable=False),
        sa.Column("updated_at", kt.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sync_inbound_counters",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_at", kt.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "outcome"),
    )
    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sync_commands",
        sa.Column("command_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("result", sa.String(length=200), nullable=False),
        sa.Column("applied_at", kt.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("command_id"),
    )


def downgrade() -> None:
    op.drop_table("sync_commands")
    op.drop_table("sync_state")
    op.drop_table("sync_inbound_counters")
    op.drop_table("sync_status")
