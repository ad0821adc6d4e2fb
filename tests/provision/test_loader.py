"""Loading config files: file:line: key errors, secrets (0600 or systemd credential), migrations, paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from firmware_config.loader import ConfigError, key_lines, load_config
from firmware_config.migrations import MigrationError, migrate
from tests.provision.conftest import MINIMAL, WriteConfig, run_cli

BROKER_USER = MINIMAL + '\n[broker]\nurl = "mqtt://10.0.0.2"\nusername = "kiosk-1"\n'


def error_of(path: Path, secrets: Path | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, secrets)
    return info.value


def test_minimal_config_loads(write_config: WriteConfig) -> None:
    config = load_config(write_config())
    assert config.device.venue == "theatre-du-passage" and config.can_sell
    assert config.broker.password is None


def test_broken_toml_names_file_and_line(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL + "\n[printer\nhost = 1\n")
    err = error_of(path)
    assert str(err).startswith(f"{path}:8: not valid TOML")


def test_each_wrong_value_names_its_line_and_key(write_config: WriteConfig) -> None:
    path = write_config(
        'version = 2\n[device]\nvenue = "v"\ngate = "g"\nrole = "seller"\ncolour = "red"\n'
        '\n[printer]\nport = "9100"\ndpi = 150\n'
    )
    lines = str(error_of(path)).splitlines()
    assert lines[0] == f"{path}:5: device.role: Input should be 'door', 'sales' or 'both' (got 'seller')"
    assert lines[1] == f"{path}:6: device.colour: unknown key (misspelt, or not supported by this firmware)"
    assert lines[2].startswith(f"{path}:9: printer.port: Input should be a valid integer")
    assert lines[3].startswith(f"{path}:10: printer.dpi: Input should be 203 or 300")
    assert len(lines) == 4


def test_missing_required_key_points_at_its_table(write_config: WriteConfig) -> None:
    path = write_config('version = 2\n\n[device]\nvenue = "v"\n')
    assert str(error_of(path)) == f"{path}:3: device.gate: missing (required)"


def test_dotted_keys_and_inline_tables_get_lines() -> None:
    text = 'version = 2\ndevice.venue = "v"\n[printer]\n  "host" = "h"  # comment\n'
    lines = key_lines(text)
    assert lines[("version",)] == 1 and lines[("device", "venue")] == 2 and lines[("printer", "host")] == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[device]\nvenue = "v"\ngate = "g"\n', "version: missing"),
        ('version = 9\n[device]\nvenue = "v"\ngate = "g"\n', "newer firmware"),
        ('version = "2"\n[device]\nvenue = "v"\ngate = "g"\n', "whole number"),
        ('version = 0\n[device]\nvenue = "v"\ngate = "g"\n', "older than any known"),
    ],
)
def test_bad_versions(write_config: WriteConfig, text: str, message: str) -> None:
    assert message in str(error_of(write_config(text)))


def test_version_1_file_is_migrated(write_config: WriteConfig) -> None:
    path = write_config(
        'version = 1\n[device]\nvenue = "v"\ngate = "g"\n[printer]\naddress = "10.1.2.3:6101"\n'
        "[ui]\nidle_timeout_min = 2\n"
    )
    config = load_config(path)
    assert (config.printer.host, config.printer.port, config.ui.idle_timeout_s) == ("10.1.2.3", 6101, 120)
    assert config.version == 2


def test_migration_does_not_touch_its_input_and_reports_bad_values() -> None:
    raw = {"version": 1, "printer": {"address": "printer-only"}}
    migrated, from_version = migrate(raw)
    assert raw == {"version": 1, "printer": {"address": "printer-only"}}
    assert migrated["printer"] == {"host": "printer-only", "port": 9100} and from_version == 1
    with pytest.raises(MigrationError, match=r"printer\.address"):
        migrate({"version": 1, "printer": {"address": "host:abc"}})


def test_bad_value_in_v1_file_reports_its_line(write_config: WriteConfig) -> None:
    path = write_config('version = 1\n[device]\nvenue = "v"\ngate = "g"\n[printer]\naddress = "h:x"\n')
    assert str(error_of(path)) == f"{path}:6: printer.address: 'h:x' is not 'host:port'"


def test_secrets_merge_from_private_file(write_config: WriteConfig) -> None:
    path = write_config(BROKER_USER, secrets='[broker]\npassword = "s3cret"\n[wifi]\npsk = "venue-passphrase"\n')
    config = load_config(path)
    assert config.broker.password is not None and config.broker.password.get_secret_value() == "s3cret"
    assert config.wifi is not None and config.wifi.ssid == "Infomaniak"
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.model_dump())


def test_missing_secrets_file_is_a_clear_error(write_config: WriteConfig, tmp_path: Path) -> None:
    path = write_config(BROKER_USER)
    message = str(error_of(path))
    assert "broker.password" in message and "secrets.toml, which does not exist" in message
    explicit = tmp_path / "elsewhere.toml"
    assert str(error_of(path, explicit)) == f"{explicit}: secrets file not found"


def test_world_readable_secrets_file_is_refused(write_config: WriteConfig) -> None:
    path = write_config(BROKER_USER, secrets='[broker]\npassword = "s3cret"\n', secrets_mode=0o644)
    message = str(error_of(path))
    assert "readable by group or others (mode 0644)" in message and "chmod 600" in message
    result = run_cli("validate", str(path))
    assert result.returncode == 1 and "chmod 600" in result.stderr and "s3cret" not in result.stderr


def test_secret_in_the_config_file_is_refused(write_config: WriteConfig) -> None:
    path = write_config(BROKER_USER + 'password = "oops"\n')
    assert str(error_of(path)) == (
        f"{path}:11: broker.password: secrets do not belong in the config file; "
        "move it to secrets.toml (mode 0600) or a systemd credential"
    )


def test_unknown_key_in_secrets_file(write_config: WriteConfig) -> None:
    path = write_config(BROKER_USER, secrets='[broker]\npassword = "x"\nusername = "y"\n')
    assert "secrets.toml:3: broker.username: not a secret" in str(error_of(path))


def test_systemd_credential_is_used_without_mode_check(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(BROKER_USER)
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "kiosk-secrets").write_text('[broker]\npassword = "from-credential"\n')
    os.chmod(creds / "kiosk-secrets", 0o444)  # systemd's credential files are read-only, in a private mount
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    config = load_config(path)
    assert config.broker.password is not None
    assert config.broker.password.get_secret_value() == "from-credential"


def test_relative_paths_are_resolved_from_the_config_folder(write_config: WriteConfig, tmp_path: Path) -> None:
    path = write_config(MINIMAL + '[paths]\ndatabase = "data/kiosk.sqlite"\nstate_dir = "state"\n')
    config = load_config(path)
    assert config.paths.database == tmp_path / "data" / "kiosk.sqlite"
    assert config.paths.state_dir == tmp_path / "state"


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'version = 2\n[device]\nvenue = "caf\xe9"\n')
    assert "not UTF-8" in str(error_of(bad))
    assert str(error_of(tmp_path / "nope.toml")) == f"{tmp_path / 'nope.toml'}: file not found"


def test_validate_cli_exit_codes(write_config: WriteConfig) -> None:
    good = run_cli("validate", str(write_config()))
    assert good.returncode == 0 and "ok (version 2" in good.stdout
    path = write_config(MINIMAL + "bogus = 1\n")
    bad = run_cli("validate", str(path))
    assert bad.returncode == 1
    assert f"{path}:7: device.bogus: unknown key" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_bad_secret_is_reported_in_the_secrets_file_without_its_value(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL, secrets='[broker]\npassword = "x"\n\n[wifi]\npsk = "short-1"\n')
    message = str(error_of(path))
    assert message == f"{path.with_name('secrets.toml')}:5: wifi.psk: a WPA2 passphrase has 8 to 63 characters"
    assert "short-1" not in message
