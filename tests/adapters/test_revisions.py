"""Opening the store: a current one opens without importing Alembic; an older one is still migrated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command

from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.migrate import alembic_config
from kiosk.adapters.store.revisions import declared_heads

ROOT = Path(__file__).resolve().parents[2]


def versions(store_path: Path) -> set[str]:
    store = open_store(store_path, migrate=False)
    with store.read() as conn:
        rows = {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    store.close()
    return rows


def test_a_current_store_opens_without_alembic_in_the_process(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.sqlite"
    open_store(db, create=True).close()
    probe = (
        "import sys; from kiosk.adapters.store.engine import open_store; "
        f"s = open_store({str(db)!r}); "
        "print(sorted(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules)); s.close()"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_an_older_store_is_migrated_to_every_head(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    store = open_store(db, create=True, migrate=False)
    cfg = alembic_config()
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.commit()
    store.close()
    assert versions(db) == {"0001"}
    open_store(db, create=True).close()
    heads = declared_heads()
    assert heads is not None and len(heads) >= 3
    assert versions(db) == heads


def test_a_new_path_gets_a_store(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "new.sqlite"
    open_store(db, create=True).close()
    assert versions(db) == declared_heads()


def test_heads_of_branches_and_merges_and_doubt(tmp_path: Path) -> None:
    def rev(name: str, text: str) -> None:
        (tmp_path / f"{name}.py").write_text(text)

    rev("a", 'revision = "a"\ndown_revision = None\n')
    rev("b", 'revision: str = "b"\ndown_revision: str | None = "a"\n')
    rev("c", 'revision = "c"\ndown_revision = "a"\n')
    assert declared_heads(tmp_path) == {"b", "c"}
    rev("m", 'revision = "m"\ndown_revision = ("b", "c")\n')
    assert declared_heads(tmp_path) == {"m"}
    rev("x", 'revision = make_id()\ndown_revision = "m"\n')
    assert declared_heads(tmp_path) is None  # cannot tell: the caller lets Alembic decide
