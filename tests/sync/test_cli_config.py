"""`kiosk-sync` settings: flags alone, the device config file (firmware_config loader), flags over the file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sync_agent.cli import UsageError, build_parser, main, resolve

CONFIG = """\
version = 2

[device]
id = "door-7"
venue = "lac"
gate = "main"
role = "door"

[broker]
url = "mqtt://10.0.0.2:1884"
username = "door-7"

[paths]
database = "data/kiosk.sqlite"
state_dir = "state"
"""


def write_config(tmp_path: Path, secrets_mode: int = 0o600) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[broker]\npassword = "s3cret"\n')
    secrets.chmod(secrets_mode)
    return path


def test_config_file_gives_every_setting(tmp_path: Path) -> None:
    db, settings, key = resolve(build_parser().parse_args(["--config", str(write_config(tmp_path))]))
    assert db == tmp_path / "data/kiosk.sqlite"
    assert (settings.venue, settings.device) == ("lac", "door-7")
    b = settings.broker
    assert (b.host, b.port, b.username, b.password, b.tls) == ("10.0.0.2", 1884, "door-7", "s3cret", False)
    assert key == tmp_path / "state/central.pub"


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("other\n")
    pw.chmod(0o600)
    args = build_parser().parse_args(
        ["--config", str(write_config(tmp_path)), "--broker", "mqtt://127.0.0.1:1999", "--device", "door-8",
         "--password-file", str(pw), "--db", str(tmp_path / "x.sqlite")]
    )  # fmt: skip
    db, settings, _ = resolve(args)
    assert db == tmp_path / "x.sqlite" and settings.device == "door-8" and settings.venue == "lac"
    assert (settings.broker.host, settings.broker.port, settings.broker.password) == ("127.0.0.1", 1999, "other")


def test_bad_settings_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="missing --db, --broker, --venue, --device, --central-key"):
        resolve(build_parser().parse_args([]))
    with pytest.raises(UsageError, match="readable by group or others"):
        resolve(build_parser().parse_args(["--config", str(write_config(tmp_path, 0o644))]))
    pw = tmp_path / "open.pw"
    pw.write_text("x")
    pw.chmod(0o644)
    with pytest.raises(UsageError, match="chmod 600"):
        resolve(
            build_parser().parse_args(
                [
                    "--db",
                    "d",
                    "--broker",
                    "mqtt://h:1",
                    "--venue",
                    "v",
                    "--device",
                    "d",
                    "--central-key",
                    "k",
                    "--password-file",
                    str(pw),
                ]
            )
        )
    with pytest.raises(UsageError, match="expected mqtt://HOST:PORT"):
        resolve(
            build_parser().parse_args(
                ["--db", "d", "--broker", "http://h", "--venue", "v", "--device", "d", "--central-key", "k"]
            )
        )
    code = main(["--db", str(tmp_path / "none.sqlite"), "--broker", "mqtt://127.0.0.1:1", "--venue", "v",
                 "--device", "d", "--central-key", str(tmp_path / "missing.pub")])  # fmt: skip
    assert code == 2 and "kiosk-sync:" in capsys.readouterr().err


def test_outbox_retention_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(tmp_path))
    _, settings, _ = resolve(build_parser().parse_args(["--config", config]))
    assert settings.outbox_retention == timedelta(days=7)
    _, settings, _ = resolve(build_parser().parse_args(["--config", config, "--outbox-retention-days", "2.5"]))
    assert settings.outbox_retention == timedelta(days=2, hours=12)
    for bad in ("-1", "seven", "nan", "99999"):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args(["--config", config, "--outbox-retention-days", bad])
        assert exc.value.code == 2
        assert "--outbox-retention-days" in capsys.readouterr().err
