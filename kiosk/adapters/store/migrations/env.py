"""Alembic environment: runs on the connection handed over by `kiosk.adapters.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import kiosk.adapters.store.identity_tables  # the store's owner on the shared metadata
import kiosk.adapters.store.peer_tables  # peer admissions (keys, log, received numbers) on the shared metadata
import kiosk.adapters.store.print_tables  # print journal on the shared metadata
import kiosk.adapters.store.sales_tables  # noqa: F401  (sales tables on the shared metadata)
from kiosk.adapters.store import sync_tables as _sync_tables  # noqa: F401  (sync agent tables on the metadata)
from kiosk.adapters.store.tables import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:  # only for `alembic revision --autogenerate` during development
    from kiosk.adapters.store.engine import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or "dev.sqlite"
    connection = make_engine(url.removeprefix("sqlite:///")).connect()

# SQLite cannot ALTER most things in place: batch mode copies the table, which is what we want.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
