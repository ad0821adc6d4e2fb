"""central: per-instance health (database busy episodes sat out)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_central_health"
down_revision = "0002_device_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "central_health",
        sa.Column("instance", sa.String(64), primary_key=True),
        sa.Column("busy_episodes", sa.Integer(), nullable=False),
        sa.Column("busy_retries", sa.Integer(), nullable=False),
        sa.Column("busy_let_go", sa.Integer(), nullable=False),
        sa.Column("last_busy_since", sa.String(40), nullable=True),
        sa.Column("last_busy_s", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("central_health")
