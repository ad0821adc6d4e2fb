"""One exception base: every exception class the project defines derives from KioskError and has its own stable
snake_case `reason` code (what the CLI's JSON, MQTT rejections and status rows compare)."""

from __future__ import annotations

import ast
import builtins
import importlib
import re
from pathlib import Path

import pytest

from kiosk.domain.errors import KioskError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kiosk", "sync_agent", "firmware_config")
BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def defined_exceptions() -> list[tuple[str, str]]:
    """(module, class) of every exception class in the packages, found in the source (no Kivy is imported)."""
    classes: dict[tuple[str, str], list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef):
                    classes[(module, node.name)] = [_base_name(b) for b in node.bases]
    known = set(BUILTIN_EXCEPTIONS)
    grew = True
    while grew:  # a class is an exception when one of its bases is (by name, across the project)
        grew = False
        for (_, name), bases in classes.items():
            if name not in known and any(b in known for b in bases):
                known.add(name)
                grew = True
    return sorted(key for key, bases in classes.items() if key[1] in known and key[1] not in BUILTIN_EXCEPTIONS)


EXCEPTIONS = defined_exceptions()


def test_the_walk_finds_the_exceptions_named_in_the_issue() -> None:
    names = {name for _, name in EXCEPTIONS}
    assert names >= {
        "StoreError", "SaleError", "RowError", "CodeError", "LabelError", "FrameError", "LayoutError",
        "PrinterError", "ImportFileError", "CliError", "UsageError", "MessageError", "SignatureError",
        "ConfigError", "WifiError", "WriteError", "EditError", "IdentityError", "MigrationError",
    }  # fmt: skip


@pytest.mark.parametrize(("module", "name"), EXCEPTIONS, ids=[f"{m}.{n}" for m, n in EXCEPTIONS])
def test_every_exception_derives_from_kiosk_error_with_a_reason(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, KioskError), f"{module}.{name} does not derive from KioskError"
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", cls.reason), cls.reason
    assert cls is KioskError or cls.reason != KioskError.reason, f"{module}.{name} has no reason code of its own"


def test_a_reason_given_when_raised_wins_over_the_class_default() -> None:
    class Example(KioskError):
        reason = "example"

    assert (Example("x").reason, Example("x", reason="other_case").reason, Example("x").message) == (
        "example",
        "other_case",
        "x",
    )
