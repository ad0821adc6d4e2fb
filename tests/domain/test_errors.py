"""One exception base: every exception class the project defines derives from KioskError and has its own stable
snake_case `reason` code (what the CLI's JSON, MQTT rejections and status rows compare)."""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.domain.errors import KioskError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kiosk", "sync_agent", "firmware_config")
BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _reason(node: ast.ClassDef) -> str | None:
    """The `reason = "..."` a class body sets, if any."""
    for stmt in node.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else []
        targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else targets
        value = getattr(stmt, "value", None)
        if any(isinstance(t, ast.Name) and t.id == "reason" for t in targets) and isinstance(value, ast.Constant):
            return str(value.value)
    return None


def _imports_kivy(tree: ast.Module) -> bool:
    """Importing such a module would open a Kivy window inside the test process: it is checked from its source."""
    for stmt in tree.body:
        names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else []
        if isinstance(stmt, ast.ImportFrom):
            names = [stmt.module or ""]
        if any(n == "kivy" or n.startswith("kivy.") for n in names):
            return True
    return False


@dataclass(frozen=True)
class Found:
    module: str
    name: str
    bases: tuple[str, ...]
    reason: str | None
    kivy: bool


def _classes() -> dict[tuple[str, str], Found]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            tree = ast.parse(path.read_text("utf-8"))
            kivy = _imports_kivy(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases = tuple(_base_name(b) for b in node.bases)
                    found[(module, node.name)] = Found(module, node.name, bases, _reason(node), kivy)
    return found


CLASSES = _classes()
BY_NAME = {f.name: f for f in CLASSES.values()}


def defined_exceptions() -> list[tuple[str, str]]:
    """(module, class) of every exception class in the packages, found in the source (no Kivy is imported)."""
    known = set(BUILTIN_EXCEPTIONS)
    grew = True
    while grew:  # a class is an exception when one of its bases is (by name, across the project)
        grew = False
        for f in CLASSES.values():
            if f.name not in known and any(b in known for b in f.bases):
                known.add(f.name)
                grew = True
    return sorted(key for key, f in CLASSES.items() if f.name in known and f.name not in BUILTIN_EXCEPTIONS)


EXCEPTIONS = defined_exceptions()


def _static_check(f: Found) -> tuple[bool, str]:
    """(derives from KioskError, its reason) by following base names through the project's source."""
    reason, seen, todo = f.reason, set(), list(f.bases)
    while todo:
        base = todo.pop()
        if base == "KioskError":
            return True, reason or KioskError.reason
        parent = BY_NAME.get(base)
        if parent is not None and base not in seen:
            seen.add(base)
            reason = reason or parent.reason
            todo.extend(parent.bases)
    return False, reason or ""


def test_modules_that_import_kivy_are_read_not_imported_and_the_reading_agrees_with_python() -> None:
    assert CLASSES[("kiosk.ui.frames", "CaptureFailed")].kivy  # importing it would open a window in this process
    for module, name in EXCEPTIONS:
        found = CLASSES[(module, name)]
        if not found.kivy and name != "KioskError":
            cls = getattr(importlib.import_module(module), name)
            assert _static_check(found) == (issubclass(cls, KioskError), cls.reason), f"{module}.{name}"


def test_the_walk_finds_the_exceptions_named_in_the_issue() -> None:
    names = {name for _, name in EXCEPTIONS}
    assert names >= {
        "StoreError", "SaleError", "RowError", "CodeError", "LabelError", "FrameError", "LayoutError",
        "PrinterError", "ImportFileError", "CliError", "UsageError", "MessageError", "SignatureError",
        "ConfigError", "WifiError", "WriteError", "EditError", "IdentityError", "MigrationError",
    }  # fmt: skip


@pytest.mark.parametrize(("module", "name"), EXCEPTIONS, ids=[f"{m}.{n}" for m, n in EXCEPTIONS])
def test_every_exception_derives_from_kiosk_error_with_a_reason(module: str, name: str) -> None:
    found = CLASSES[(module, name)]
    if found.kivy:
        derives, reason = _static_check(found)
    else:
        cls = getattr(importlib.import_module(module), name)
        derives, reason = issubclass(cls, KioskError), cls.reason if issubclass(cls, KioskError) else ""
    assert derives or name == "KioskError", f"{module}.{name} does not derive from KioskError"
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", reason), reason
    assert name == "KioskError" or reason != KioskError.reason, f"{module}.{name} has no reason code of its own"


def test_a_reason_given_when_raised_wins_over_the_class_default() -> None:
    class Example(KioskError):
        reason = "example"

    assert (Example("x").reason, Example("x", reason="other_case").reason, Example("x").message) == (
        "example",
        "other_case",
        "x",
    )
