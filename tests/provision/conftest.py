"""Helpers for the provisioning tests: write a config (and secrets) file into a temp folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

MINIMAL = """\
version = 2

[device]
venue = "theatre-du-passage"
gate = "main"
role = "sales"
"""

WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """write_config(text, secrets=None, secrets_mode=0o600) → path of kiosk.toml (secrets.toml beside it)."""

    def write(text: str = MINIMAL, secrets: str | None = None, secrets_mode: int = 0o600) -> Path:
        path = tmp_path / "kiosk.toml"
        path.write_text(text, encoding="utf-8")
        if secrets is not None:
            secret_path = tmp_path / "secrets.toml"
            secret_path.write_text(secrets, encoding="utf-8")
            os.chmod(secret_path, secrets_mode)
        return path

    return write


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `kiosk-provision` as a technician would: a separate process, real stdin/stdout/exit code."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("CREDENTIALS_DIRECTORY", "KIOSK_CONFIG")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "firmware_config.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
