"""The import direction (ui → services → domain ← adapters; kiosk.compose alone picks adapters), read with ast.

Every import counts, including the lazy ones inside functions: a lazy import is still a dependency. The sync
agent (central's package, with its own store, aside) reaches the device store only through the repositories of
`kiosk.adapters.store`: it imports no SQL library nor table module, and runs no statement itself.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import kiosk
import sync_agent

KIOSK = Path(kiosk.__file__).parent
ROOT = KIOSK.parent
SYNC_AGENT = Path(sync_agent.__file__).parent

# Libraries that talk to the world (devices, files as databases, network, processes, windows).
IO_LIBRARIES = (
    "kivy",
    "cv2",
    "pyzbar",
    "zxingcpp",
    "sqlalchemy",
    "alembic",
    "sqlite3",
    "paho",
    "socket",
    "requests",
    "httpx",
    "urllib.request",
    "http",
    "subprocess",
    "psycopg",
    "psycopg2",
    "serial",
    "zplkit",
)
COMPOSE = r"kiosk\.compose\w*"  # kiosk.compose and its parts (kiosk.compose_printing, ...)
STORE_TABLES = r"kiosk\.adapters\.store\.(?:tables|sync_tables|print_tables|sales_tables|identity_tables)"
SQL_CALLS = ("execute", "exec_driver_sql", "executemany", "executescript")

RULES: dict[str, tuple[str, ...]] = {
    "domain": (*IO_LIBRARIES, "kiosk.services", "kiosk.adapters", "kiosk.ui", "kiosk.demo", "kiosk.cli", COMPOSE),
    "services": ("kiosk.adapters", "kiosk.ui", "kiosk.demo", "kiosk.cli", COMPOSE, "sqlalchemy", "alembic", "sqlite3"),
    "ui": ("kiosk.adapters", COMPOSE, "sqlalchemy", "alembic", "sqlite3"),
    "sync_agent": ("sqlalchemy", "alembic", "sqlite3", STORE_TABLES),
}
LAYERS = {layer: KIOSK / layer for layer in ("domain", "services", "ui")} | {"sync_agent": SYNC_AGENT}
NO_SQL_CALLS = ("sync_agent",)  # layers that may not run a statement on a connection they were handed either


def imports_of(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in `source`; `module` resolves relative imports."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            for alias in node.names:  # `from kiosk import compose` imports kiosk.compose
                yield node.lineno, f"{base}.{alias.name}"


def forbidden(name: str, patterns: tuple[str, ...]) -> str | None:
    for pattern in patterns:
        regex = pattern if "\\" in pattern else re.escape(pattern)
        if re.fullmatch(rf"{regex}(\..+)?", name):
            return pattern
    return None


def sql_calls(source: str) -> Iterator[tuple[int, str]]:
    """(line, method) of every `x.execute(...)`-like call: SQL run on a connection, whoever built the statement."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            yield node.lineno, node.func.attr


def layer_files(layer: str) -> list[Path]:
    root = LAYERS[layer]
    # sync_agent.central is central's service with its own database, not a device-side part.
    return sorted(p for p in root.rglob("*.py") if layer != "sync_agent" or "central" not in p.relative_to(root).parts)


def violations(layer: str) -> list[str]:
    found = []
    for path in layer_files(layer):
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts)
        source = path.read_text(encoding="utf-8")
        seen: set[tuple[int, str]] = set()
        for line, name in imports_of(source, module):
            parent = (line, name.rpartition(".")[0])
            if parent not in seen and forbidden(name, RULES[layer]) is not None:  # `from X import Y`: report X
                seen.add((line, name))
                found.append(f"{rel}:{line} imports {name}")
        if layer in NO_SQL_CALLS:
            found += [f"{rel}:{line} runs SQL (.{call})" for line, call in sql_calls(source)]
    return found


def test_the_domain_imports_no_io_library_and_no_outer_layer() -> None:
    assert violations("domain") == []


def test_services_import_no_adapter_and_no_sql() -> None:
    assert violations("services") == []


def test_the_ui_imports_no_adapter_and_not_the_composition() -> None:
    assert violations("ui") == []


def test_sync_agent_reaches_the_device_store_only_through_repositories() -> None:
    assert violations("sync_agent") == [], "move this SQL into kiosk/adapters/store/ repositories"


def test_every_layer_named_in_the_rules_exists() -> None:
    assert set(LAYERS) == set(RULES)
    for layer in RULES:
        assert len(layer_files(layer)) > 3, layer


def test_the_checker_sees_top_level_lazy_relative_and_from_imports() -> None:
    source = (
        "import socket\n"
        "from sqlalchemy import select\n"
        "def f():\n"
        "    from kiosk.adapters.store import tables\n"
        "from kiosk import compose_printing\n"
        "from ..adapters import zebra\n"
        "from kiosk.domain.model import Direction\n"
        "import kivy.app\n"
    )
    names = [name for _, name in imports_of(source, "kiosk.services.x")]
    caught = {name for name in names if forbidden(name, RULES["domain"])}
    assert "socket" in caught and "sqlalchemy" in caught and "kivy.app" in caught
    assert "kiosk.adapters.store" in caught and "kiosk.compose_printing" in caught
    assert "kiosk.adapters" in caught  # the relative import, resolved
    assert not any(n.startswith("kiosk.domain") for n in caught)
    assert forbidden("kiosk.composer_of_songs", ("kiosk.compose",)) is None  # a prefix of a word is not a match
    assert forbidden("socketserver", IO_LIBRARIES) is None


def test_the_sync_agent_rule_catches_every_way_round() -> None:
    def caught(source: str) -> bool:
        names = [name for _, name in imports_of(source, "sync_agent.x")]
        return any(forbidden(n, RULES["sync_agent"]) for n in names) or any(sql_calls(source))

    for source in (
        "import sqlite3",
        "import sqlalchemy.orm",
        "from sqlalchemy import select",
        "from sqlalchemy.dialects.sqlite import insert",
        "from kiosk.adapters.store import tables as t",
        "from kiosk.adapters.store.sync_tables import sync_state",
        "import kiosk.adapters.store.tables",
        "def f(conn):\n    conn.exec_driver_sql('DELETE FROM outbox')",
        "def f(conn, q):\n    return conn.execute(q)",
    ):
        assert caught(source), source
    for source in (
        "from kiosk.adapters.store import sync_repository as repo",
        "from kiosk.adapters.store import outbox_repository",
        "from kiosk.adapters.store.engine import Store, StoreError",
        "from kiosk.adapters.store.sync_repository import StoreConnection",
        "from . import tables",  # relative: sync_agent.tables, and sync_agent has no table module of its own
    ):
        assert not caught(source), source
