"""Runs a scenario of tests.ui.door_driver (the real app under the test's Xvfb) and returns what it saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui.conftest import run_ui_module


def run_door(env: dict[str, str], scenario: str, workdir: Path, timeout: float = 120) -> dict[str, Any]:
    return run_ui_module("door_driver", env, [scenario, str(workdir)], workdir, timeout=timeout)
