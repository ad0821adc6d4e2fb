"""Alembic environment of central's database: runs on the connection handed over by `sync_agent.central.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sync_agent.central.tables import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:  # only for `alembic revision --autogenerate` during development
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url") or "sqlite:///central.sqlite").connect()

# SQLite cannot ALTER most things in place: batch mode copies the table (PostgreSQL alters in place).
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
