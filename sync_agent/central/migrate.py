"""Apply central's Alembic migrations at start (SQLite or PostgreSQL; no alembic.ini needed).

Every `kiosk-central` command migrates the database it opens to the newest revision, in one transaction that
first takes a lock, so instances started together on one database migrate it once (the others wait, then find
it current): on PostgreSQL an advisory transaction lock, on SQLite the engine's BEGIN IMMEDIATE write lock.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, select

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK = zlib.crc32(b"kiosk-central migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (a fresh one, or one made before central used Alembic)."""
    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_LOCK)))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
