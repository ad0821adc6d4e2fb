"""central: events, admissions, incidents, rejections, batches, published versions, ticket list, retained bodies

The baseline also adopts a database made before central used Alembic (tables made by `create_all`, columns added
at start): it creates only what is missing, so such a database ends with exactly this schema, its rows kept.
Later revisions are ordinary migrations.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001_central"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = (
    "central_events",
    "central_admissions",
    "central_incidents",
    "central_rejections",
    "central_batches",
    "central_published",
    "central_tickets",
    "central_retained",
)


def _events() -> None:
    op.create_table(
        "central_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_central_events_device", "central_events", ["device_id", "seq"])


def _admissions() -> None:
    op.create_table(
        "central_admissions",
        sa.Column("scan_id", sa.String(36), primary_key=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("performance_id", sa.BigInteger(), nullable=True),
        sa.Column("movement", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("gate", sa.String(64), nullable=False),
        sa.Column("scanned_at", sa.String(40), nullable=False),
        sa.Column("entries_allowed", sa.Integer(), nullable=True),
    )
    op.create_index("ix_central_admissions_ticket", "central_admissions", ["venue", "ticket_id", "performance_id"])


def _incidents() -> None:
    op.create_table(
        "central_incidents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("performance_id", sa.BigInteger(), nullable=True),
        sa.Column("first_scan_id", sa.String(36), nullable=False),
        sa.Column("first_device", sa.String(64), nullable=False),
        sa.Column("first_gate", sa.String(64), nullable=False),
        sa.Column("first_at", sa.String(40), nullable=False),
        sa.Column("second_scan_id", sa.String(36), nullable=False),
        sa.Column("second_device", sa.String(64), nullable=False),
        sa.Column("second_gate", sa.String(64), nullable=False),
        sa.Column("second_at", sa.String(40), nullable=False),
        sa.Column("detected_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("first_scan_id", "second_scan_id", name="uq_central_incidents_pair"),
    )


def _rejections() -> None:
    op.create_table(
        "central_rejections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )


def _batches() -> None:
    op.create_table(
        "central_batches",
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("new_events", sa.Integer(), nullable=False),
        sa.Column("committed_at", sa.String(40), nullable=False),
        sa.Column("ack_sent_at", sa.String(40), nullable=True),
    )


def _published() -> None:
    op.create_table(
        "central_published",
        sa.Column("venue", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"),
    )


def _tickets() -> None:
    op.create_table(
        "central_tickets",
        sa.Column("venue", sa.String(64), primary_key=True),
        sa.Column("ticket_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("doc", sa.Text(), nullable=False),
    )


def _retained() -> None:
    op.create_table(
        "central_retained",
        sa.Column("venue", sa.String(64), primary_key=True),
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
    )


_CREATE: dict[str, Callable[[], None]] = dict(
    zip(
        _TABLES, (_events, _admissions, _incidents, _rejections, _batches, _published, _tickets, _retained), strict=True
    )
)


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    have = set(inspector.get_table_names())
    for name in _TABLES:
        if name not in have:
            _CREATE[name]()
    # What central added at start to databases of its first release (before Alembic): the allowance column and
    # the incidents' ticket index. Present in every database made since; checked so an old one gains them.
    if "central_admissions" in have:
        columns = {c["name"] for c in inspector.get_columns("central_admissions")}
        if "entries_allowed" not in columns:
            op.add_column("central_admissions", sa.Column("entries_allowed", sa.Integer(), nullable=True))
    indexes = (
        set() if "central_incidents" not in have else {i["name"] for i in inspector.get_indexes("central_incidents")}
    )
    if "ix_central_incidents_ticket" not in indexes:
        op.create_index("ix_central_incidents_ticket", "central_incidents", ["venue", "ticket_id", "performance_id"])


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
