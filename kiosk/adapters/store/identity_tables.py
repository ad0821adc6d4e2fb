"""The store's own identity: one row saying which device (and venue) this SQLite file belongs to."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, String, Table

from kiosk.adapters.store.tables import UtcDateTime, metadata

store_identity = Table(
    "store_identity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: a store has one owner
    Column("device_id", String(64), nullable=False),
    Column("venue_id", String(64), nullable=False),
    Column("role", String(8), nullable=True),  # door / sales / both; NULL when the claimer did not know it
    Column("claimed_by", String(32), nullable=False),  # firstboot, demo-data, kiosk-sync, claim, app…
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("id = 1", name="ck_store_identity_one_row"),
)
