"""Helpers for the UI tests: run the driver (the real app under Xvfb) and read what it saw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_ui_module(
    module: str, env: dict[str, str], args: list[str], workdir: Path, *, timeout: float = 120, check_exit: bool = True
) -> dict[str, Any]:
    """Run one of the UI drivers (`python -m tests.ui.<module> ARGS`) and return the result.json it wrote."""
    proc = subprocess.run(
        [sys.executable, "-m", f"tests.ui.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result_file = workdir / "result.json"
    if not result_file.exists():
        pytest.fail(f"{module} wrote no result (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(result_file.read_text())
    assert not result.get("error"), result["error"] + "\n" + proc.stderr[-3000:]
    if check_exit:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return result


def run_driver(env: dict[str, str], scenario: str, workdir: Path, *extra: str, timeout: float = 120) -> dict[str, Any]:
    return run_ui_module("driver", env, [scenario, str(workdir), *extra], workdir, timeout=timeout)
