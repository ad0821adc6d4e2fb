"""central: device registry (roles), event id conflicts, device clock skew, events flagged with their skew"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_device_trust"
down_revision = "0001_central"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "central_devices",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=True),
        sa.Column("added_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "central_conflicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("owner_device", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_table(
        "central_device_clocks",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("skew_s", sa.Float(), nullable=False),
        sa.Column("device_at", sa.String(40), nullable=False),
        sa.Column("central_at", sa.String(40), nullable=False),
    )
    op.add_column("central_events", sa.Column("clock_skew_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("central_events") as batch:
        batch.drop_column("clock_skew_s")
    for name in ("central_device_clocks", "central_conflicts", "central_devices"):
        op.drop_table(name)
