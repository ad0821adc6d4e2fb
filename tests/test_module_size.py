"""Modules stay under 400 lines (the developers' guide), the tests too: a long module is split by concern."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 400


def test_no_python_module_reaches_400_lines() -> None:
    long = {}
    for folder in ("kiosk", "sync_agent", "firmware_config", "tests", "bench", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            lines = path.read_text("utf-8").count("\n")
            if lines >= LIMIT:
                long[str(path.relative_to(ROOT))] = lines
    assert long == {}
