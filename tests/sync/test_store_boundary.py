"""sync_agent reaches the device store only through repositories: no sync_agent module (central's, with its own
store, aside) imports sqlalchemy, sqlite3 or the store's table modules, nor runs SQL itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "sync_agent"
FORBIDDEN_MODULES = ("sqlalchemy", "sqlite3")
TABLE_MODULES = ("tables", "sync_tables", "print_tables", "sales_tables")
FORBIDDEN_CALLS = ("execute", "exec_driver_sql", "executemany", "executescript")
# A module of another owner that still holds device-store SQL; the entry goes when its SQL moves to a repository.
NOT_YET = {
    "sync_agent/outbound.py": "batch assembly being rewritten on typed events (issue 10); its queries move after",
}


def _forbidden_module(name: str) -> bool:
    if name.split(".")[0] in FORBIDDEN_MODULES:
        return True
    store = "kiosk.adapters.store"
    return any(name == f"{store}.{t}" or name.startswith(f"{store}.{t}.") for t in TABLE_MODULES)


def violations(source: str) -> list[str]:
    """What in `source` reaches the store around the repositories, one line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _forbidden_module(a.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(_forbidden_module(n) for n in names):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(a.name for a in node.names)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FORBIDDEN_CALLS:
            found.append(f"{node.lineno}: .{node.func.attr}(...)")
    return found


def checked_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "central" not in p.relative_to(PACKAGE).parts)


def test_sync_agent_reaches_the_store_only_through_repositories() -> None:
    bad = {}
    for path in checked_modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel in NOT_YET:
            continue
        found = violations(path.read_text())
        if found:
            bad[rel] = found
    assert bad == {}, "move this SQL into kiosk/adapters/store/ repositories: " + repr(bad)
    assert len(checked_modules()) > 10  # the walk found the package


def test_the_check_catches_every_way_round() -> None:
    caught = [
        "import sqlite3",
        "import sqlalchemy.orm",
        "from sqlalchemy import select",
        "from sqlalchemy.dialects.sqlite import insert",
        "from kiosk.adapters.store import tables as t",
        "from kiosk.adapters.store.sync_tables import sync_state",
        "import kiosk.adapters.store.tables",
        "def f(conn):\n    conn.exec_driver_sql('DELETE FROM outbox')",
        "def f(conn, q):\n    return conn.execute(q)",
    ]
    for source in caught:
        assert violations(source), source
    allowed = [
        "from kiosk.adapters.store import sync_repository as repo",
        "from kiosk.adapters.store.engine import Store, StoreError",
        "from kiosk.adapters.store.sync_repository import StoreConnection",
        "from . import tables",  # relative: sync_agent has no table module of its own
    ]
    for source in allowed:
        assert not violations(source), source
