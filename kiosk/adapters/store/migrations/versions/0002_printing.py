"""printing: the durable print journal (print_jobs)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kiosk.adapters.store.tables as kt

revision = "0002_printing"
down_revision = "0001"
branch_labels = ("printing",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_jobs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="ticket", nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=8), server_default="en", nullable=False),
        sa.Column("copy", sa.Integer(), server_default="1", nullable=False),
        sa.Column("reprint_of", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status", sa.String(length=200), server_default="", nullable=False),
        sa.Column("error", sa.String(length=500), server_default="", nullable=False),
        sa.Column("zpl", sa.Text(), nullable=False),
        sa.Column("created_at", kt.UtcDateTime(), nullable=False),
        sa.Column("updated_at", kt.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("job_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_print_jobs_state", ["state", "seq"], unique=False)
        batch_op.create_index("ix_print_jobs_ticket", ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_print_jobs_ticket")
        batch_op.drop_index("ix_print_jobs_state")
    op.drop_table("print_jobs")
