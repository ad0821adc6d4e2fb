"""scripts/setup.sh installs what the suite runs (checked for real on a fresh root by fresh-debian-check), the
tests' unprivileged user can run it there, and the repository never tracks a private key."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.unprivileged import as_user_prefix

REPO = Path(__file__).resolve().parents[2]


def apt_packages() -> set[str]:
    text = (REPO / "scripts/setup.sh").read_text()
    found = re.search(r"^apt_packages=\(([^)]*)\)", text, re.MULTILINE)
    assert found, "scripts/setup.sh has no apt_packages=(...) list"
    return set(found.group(1).split())


def test_setup_installs_what_the_suite_runs() -> None:
    needed = {
        "procps": "systemd-analyze verify runs /bin/kill (test_broker_drop_in_verifies_on_debians_mosquitto_unit)",
        "man-db": "systemd-analyze verify runs man for Documentation= (same test)",
        "postgresql": "tests/fixtures/postgres.py runs initdb and postgres from /usr/lib/postgresql/*/bin",
        "cage": "the UI session (test_ui_session_gives_kivy_a_window_inside_cage)",
        "xwayland": "cage's X server for Kivy",
        "xvfb": "the display fixture",
        "mosquitto": "the broker fixture",
    }
    missing = {name: why for name, why in needed.items() if name not in apt_packages()}
    assert not missing, missing


def test_private_keys_are_ignored_by_git() -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("central.key", "keys/device.key", "sync_agent/central/signing.key"):
        done = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", path], check=False)
        assert done.returncode == 0, f"{path} is not ignored by .gitignore"


def test_the_tests_unprivileged_user_reaches_programs_behind_a_root_only_folder() -> None:
    """fresh-debian-check's root is a 0700 folder: initdb and wlroots check access(X_OK) on postgres and Xwayland."""
    if os.geteuid() != 0:
        pytest.skip("only root drops to the tests' unprivileged user")
    hidden = Path(tempfile.mkdtemp(prefix="kiosk-root-only-"))
    try:
        hidden.chmod(0o700)
        program = hidden / "true"
        shutil.copy(shutil.which("true") or "/bin/true", program)
        program.chmod(0o755)
        check = f"import os, sys; sys.exit(0 if os.getuid() != 0 and os.access({str(program)!r}, os.X_OK) else 3)"
        done = subprocess.run([*as_user_prefix(), sys.executable, "-c", check], capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        assert subprocess.run([*as_user_prefix(), str(program)], check=False).returncode == 0
    finally:
        shutil.rmtree(hidden)
