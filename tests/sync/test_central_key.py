"""`kiosk-central`'s signing key never lands in the working directory: `--key`, else the state directory
(`--state-dir`, $STATE_DIRECTORY, /var/lib/kiosk-central), made 0700, with the key file 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sync_agent.central.cli import DEFAULT_STATE_DIR, KEY_NAME, build_parser, key_path, main, state_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    return work


def test_without_key_the_key_is_made_in_a_new_0700_state_directory_never_in_cwd(
    cwd: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state" / "kiosk-central"
    assert main(["public-key", "--state-dir", str(state)]) == 0
    public = capsys.readouterr().out.strip()
    assert list(cwd.iterdir()) == []
    assert mode(state) == 0o700
    assert mode(state / KEY_NAME) == 0o600
    # The same key next time: it was kept, not made again.
    assert main(["public-key", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out.strip() == public


def test_systemd_state_directory_is_the_default(cwd: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "systemd-state"
    monkeypatch.setenv("STATE_DIRECTORY", f"{state}:{tmp_path / 'second'}")
    assert main(["public-key"]) == 0
    assert (state / KEY_NAME).exists()
    assert list(cwd.iterdir()) == []
    assert not (tmp_path / "second").exists()


def test_default_without_flag_or_environment_is_var_lib(cwd: Path) -> None:
    assert state_dir(None, {}) == DEFAULT_STATE_DIR == Path("/var/lib/kiosk-central")
    args = build_parser().parse_args(["stats", "--db", "x"])
    assert not hasattr(args, "key")  # commands that sign nothing never touch a key
    args = build_parser().parse_args(["public-key", "--key", "given.key"])
    assert key_path(args) == Path("given.key")  # an explicit path is the operator's choice


def test_an_existing_state_directory_is_left_as_it_is_and_a_readable_key_refused(
    cwd: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "existing"
    state.mkdir(mode=0o750)
    state.chmod(0o750)
    key = state / KEY_NAME
    assert main(["public-key", "--state-dir", str(state)]) == 0
    assert mode(state) == 0o750 and mode(key) == 0o600
    key.chmod(0o644)
    assert main(["public-key", "--state-dir", str(state)]) == 2
    assert "readable by others" in capsys.readouterr().err
