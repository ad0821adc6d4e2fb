"""peers: doors' public keys, this door's numbered peer admissions, the numbers held from each other door"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_peers"
down_revision = "0001"
branch_labels = ("peers",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peer_keys",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    op.create_table(
        "peer_log",
        sa.Column("pseq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pseq"),
    )
    op.create_table(
        "peer_seen",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("pseq", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "pseq"),
    )
    op.create_table(
        "peer_tops",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("top", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )


def downgrade() -> None:
    for name in ("peer_tops", "peer_seen", "peer_log", "peer_keys"):
        op.drop_table(name)
