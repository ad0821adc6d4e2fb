"""Runs a scenario of tests.ui.door_driver (the real app under the test's Xvfb) and returns what it saw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_door(env: dict[str, str], scenario: str, workdir: Path, timeout: float = 120) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ui.door_driver", scenario, str(workdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result_file = workdir / "result.json"
    if not result_file.exists():
        pytest.fail(f"door driver wrote no result (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(result_file.read_text())
    assert not result.get("error"), result["error"] + "\n" + proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    return result
