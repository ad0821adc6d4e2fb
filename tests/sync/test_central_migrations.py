"""Central's schema comes from its Alembic revisions: a fresh database migrates to head and matches the tables
module exactly; a database made before Alembic (central's first release) is adopted with its rows; re-running is a
no-op; two instances opening one database at once both succeed."""

from __future__ import annotations

import json
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, func, select, text

from sync_agent.central import migrate
from sync_agent.central import tables as ct
from sync_agent.central.ingest import ingest_batch, open_central_db
from sync_agent.messages import TxBatch, TxEvent
from tests.sync import event_samples as samples
from tests.sync.central_legacy import make_first_release
from tests.sync.conftest import VENV_BIN

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def schema_drift(engine: Engine) -> list[Any]:
    """What differs between the database and `tables.py` (empty: the migrations make exactly that schema)."""
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), ct.metadata))


def check_fresh(url: str) -> None:
    engine = open_central_db(url)
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.script_head() == migrate.HEAD == "0003_central_health"
    assert schema_drift(engine) == []
    engine.dispose()
    engine = open_central_db(url)  # again: nothing to do, nothing changes
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.HEAD
    assert schema_drift(engine) == []
    engine.dispose()


def check_first_release_adopted(url: str) -> None:
    raw = create_engine(url.replace("postgresql://", "postgresql+psycopg://")) if "://" in url else None
    raw = raw or create_engine(f"sqlite:///{url}")
    with raw.begin() as conn:
        make_first_release(conn)
    raw.dispose()
    engine = open_central_db(url)
    assert schema_drift(engine) == []
    with engine.connect() as conn:
        assert migrate.current(conn) == migrate.HEAD
        assert conn.execute(select(ct.published.c.version)).scalar_one() == 4  # rows kept
        assert conn.execute(select(func.count()).select_from(ct.events)).scalar_one() == 1
    # The old entry still counts for double admissions; the new events carry the allowance (two).
    for i, device in enumerate(("door-b", "door-c")):
        event = samples.checkin(device, ticket=5, allowed=2)
        tx = TxEvent(seq=i + 1, event_id=event.event_id, kind=event.kind, occurred_at="2026-11-28T18:00:00Z",
                     payload=dict(event.payload))  # fmt: skip
        with engine.begin() as conn:
            batch = TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=[tx])
            result = ingest_batch(conn, "lac", batch, NOW)
        assert result.acked == [event.event_id]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ct.incidents)).scalar_one() == i
    engine.dispose()


def check_concurrent_first_start(url: str) -> None:
    """Separate processes, as instances are (Alembic itself is not meant to run in two threads of one process)."""
    cmd = [str(VENV_BIN / "kiosk-central"), "stats", "--db", url, "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert json.loads(out)["events"] == 0
    check_fresh(url)


def test_a_fresh_sqlite_database_migrates_to_head_and_re_running_changes_nothing(tmp_path: Path) -> None:
    check_fresh(str(tmp_path / "c.sqlite"))


def test_a_first_release_sqlite_database_is_adopted_with_its_rows(tmp_path: Path) -> None:
    check_first_release_adopted(str(tmp_path / "old.sqlite"))


def test_instances_starting_together_on_a_new_sqlite_database(tmp_path: Path) -> None:
    check_concurrent_first_start(str(tmp_path / "c.sqlite"))


def test_a_database_of_the_last_central_before_alembic_is_adopted(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    raw = create_engine(f"sqlite:///{db}")
    # What open_central_db did before Alembic: create_all of the tables then, i.e. revision 0001's schema without
    # an alembic_version table.
    with raw.begin() as conn:
        cfg = migrate.alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_central")
        conn.execute(text("DROP TABLE alembic_version"))
    raw.dispose()
    check_fresh(str(db))
