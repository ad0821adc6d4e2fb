"""The import direction (ui → services → domain ← adapters; kiosk.compose alone picks adapters), read with ast.

Every import counts, including the lazy ones inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import kiosk

KIOSK = Path(kiosk.__file__).parent

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

RULES: dict[str, tuple[str, ...]] = {
    "domain": (*IO_LIBRARIES, "kiosk.services", "kiosk.adapters", "kiosk.ui", "kiosk.demo", "kiosk.cli", COMPOSE),
    "services": ("kiosk.adapters", "kiosk.ui", "kiosk.demo", "kiosk.cli", COMPOSE, "sqlalchemy", "alembic", "sqlite3"),
    "ui": ("kiosk.adapters", COMPOSE, "sqlalchemy", "alembic", "sqlite3"),
}


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


def violations(layer: str) -> list[str]:
    found = []
    for path in sorted((KIOSK / layer).rglob("*.py")):
        rel = path.relative_to(KIOSK.parent)
        module = ".".join(rel.with_suffix("").parts)
        seen: set[tuple[int, str]] = set()
        for line, name in imports_of(path.read_text(encoding="utf-8"), module):
            parent = (line, name.rpartition(".")[0])
            if parent not in seen and forbidden(name, RULES[layer]) is not None:  # `from X import Y`: report X
                seen.add((line, name))
                found.append(f"{rel}:{line} imports {name}")
    return found


def test_the_domain_imports_no_io_library_and_no_outer_layer() -> None:
    assert violations("domain") == []


def test_services_import_no_adapter_and_no_sql() -> None:
    assert violations("services") == []


def test_the_ui_imports_no_adapter_and_not_the_composition() -> None:
    assert violations("ui") == []


def test_every_layer_named_in_the_rules_exists() -> None:
    for layer in RULES:
        assert any((KIOSK / layer).rglob("*.py")), layer


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
