"""foundation: catalog, ticket list, check-ins, failed scans, keys, revocations, outbox"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kiosk.adapters.store.tables as kt

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "checkin_lists",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=True),
        sa.Column("allow_exit", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("allow_reentry", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gate"),
    )
    op.create_table(
        "checkins",
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=True),
        sa.Column("movement", sa.String(length=16), nullable=False),
        sa.Column("scanned_at", kt.UtcDateTime(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), server_default="local", nullable=False),
        sa.PrimaryKeyConstraint("scan_id"),
    )
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index("ix_checkins_ticket", ["ticket_id", "scanned_at"], unique=False)

    op.create_table(
        "dead_letters",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("rejected_at", kt.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("venue", sa.String(length=200), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "failed_scans",
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("text_prefix", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=64), server_default="", nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("scanned_at", kt.UtcDateTime(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("scan_id"),
    )
    op.create_table(
        "issuer_keys",
        sa.Column("key_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", kt.UtcDateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("synced_at", kt.UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["synced_at", "seq"], unique=False)

    op.create_table(
        "revocations",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("revoked_at", kt.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_table(
        "tickets",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=200), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=True),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", kt.UtcDateTime(), nullable=True),
        sa.Column("valid_until", kt.UtcDateTime(), nullable=True),
        sa.Column("entries_allowed", sa.Integer(), server_default="1", nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="valid", nullable=False),
        sa.Column("order_ref", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), server_default="list", nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "checkin_list_events",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["list_id"], ["checkin_lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "event_id"),
    )
    op.create_table(
        "performances",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("starts_at", kt.UtcDateTime(), nullable=False),
        sa.Column("doors_open", kt.UtcDateTime(), nullable=False),
        sa.Column("admission_closes", kt.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("performances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_performances_event_id"), ["event_id"], unique=False)

    op.create_table(
        "tariffs",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("price", kt.Money(), nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="single", nullable=False),
        sa.Column("icon", sa.String(length=32), server_default="standard", nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "checkin_list_performances",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("performance_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["checkin_lists.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["performance_id"], ["performances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "performance_id"),
    )
    op.create_table(
        "checkin_list_tariffs",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["checkin_lists.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("list_id", "tariff_id"),
    )
    op.create_table(
        "passes",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.JSON(), nullable=False),
        sa.Column("valid_from", kt.UtcDateTime(), nullable=False),
        sa.Column("valid_until", kt.UtcDateTime(), nullable=False),
        sa.Column("entries_per_day", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "pass_events",
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pass_id"], ["passes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pass_id", "event_id"),
    )


def downgrade() -> None:

    op.drop_table("pass_events")
    op.drop_table("passes")
    op.drop_table("checkin_list_tariffs")
    op.drop_table("checkin_list_performances")
    op.drop_table("tariffs")
    with op.batch_alter_table("performances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_performances_event_id"))

    op.drop_table("performances")
    op.drop_table("checkin_list_events")
    op.drop_table("tickets")
    op.drop_table("revocations")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    op.drop_table("meta")
    op.drop_table("issuer_keys")
    op.drop_table("failed_scans")
    op.drop_table("events")
    op.drop_table("dead_letters")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_checkins_ticket")

    op.drop_table("checkins")
    op.drop_table("checkin_lists")
