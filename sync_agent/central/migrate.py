"""Apply central's Alembic migrations at start (SQLite or PostgreSQL; no alembic.ini needed).

Every `kiosk-central` command migrates the database it opens to the newest revision, in one transaction that
first takes a lock, so instances started together on one database migrate it once (the others wait, then find
it current): on PostgreSQL an advisory transaction lock, on SQLite the engine's BEGIN IMMEDIATE write lock.
A database already at `HEAD` is recognised without importing Alembic (about a second of start-up on a busy host).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, inspect, select, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0003_central_health"  # the newest revision; test_central_migrations checks it against the scripts
_LOCK = zlib.crc32(b"kiosk-central migrations")


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def script_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(conn: Connection) -> str | None:
    """The database's revision (None: a new database, or one made before central used Alembic)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (a fresh one, or one made before central used Alembic)."""
    with engine.connect() as conn:
        if current(conn) == HEAD:
            return
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_LOCK)))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
