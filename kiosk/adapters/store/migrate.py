"""Apply the store's Alembic migrations at start (no alembic.ini needed on the device).

Feature branches of the schema (printing, sync, sales…) each start from the foundation revision with their own
branch label, so the store is upgraded to all `heads`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from kiosk.adapters.store.engine import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def is_current(store: Store) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with store.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads


def upgrade(store: Store) -> None:
    if is_current(store):
        return
    cfg = alembic_config()
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        conn.commit()
