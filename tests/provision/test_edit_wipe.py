"""`set` (replace a printer without hand-editing TOML) and `wipe` (end of event, never losing unsynced events)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from firmware_config.identity import create_identity
from firmware_config.loader import load_config
from firmware_config.wizard.wifi import install_wifi
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.repositories import SqlOutboxStore
from kiosk.domain.outbox import OutboxEvent
from tests.provision.conftest import MINIMAL, WriteConfig, run_cli

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
STATE = '\n[paths]\nstate_dir = "state"\ndatabase = "state/kiosk.sqlite"\n'


def test_set_changes_the_printer_and_keeps_everything_else(write_config: WriteConfig) -> None:
    path = write_config(MINIMAL + '\n[broker]\nusername = "k1"\n', secrets='[broker]\npassword = "pw"\n')
    result = run_cli("set", "--config", str(path), "printer.host=10.0.0.77", "printer.dpi=300", "printer.format=cinema")
    assert result.returncode == 0, result.stderr
    config = load_config(path)
    assert (config.printer.host, config.printer.dpi, config.printer.format) == ("10.0.0.77", 300, "cinema")
    assert config.broker.username == "k1" and config.device.venue == "theatre-du-passage"
    assert "# Printer host:" in path.read_text()


def test_set_refuses_bad_values_and_secrets_leaving_the_file_alone(write_config: WriteConfig) -> None:
    path = write_config()
    before = path.read_text()
    for args, message in (
        (["printer.dpi=600"], "printer.dpi"),
        (["printer.colour=red"], "printer.colour"),
        (["broker.password=oops"], "secrets file"),
        (["printer"], "SECTION.KEY=VALUE"),
        (["broker.username=k1"], "broker.password"),  # a user needs a password in secrets.toml, which is absent
    ):
        result = run_cli("set", "--config", str(path), *args)
        assert result.returncode == 1 and message in result.stderr, (args, result.stderr)
        assert path.read_text() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["kiosk.toml"]  # no temporary file left


def make_device(write_config: WriteConfig, tmp_path: Path) -> tuple[Path, Path]:
    path = write_config(MINIMAL + STATE, secrets='[wifi]\npsk = "venue-passphrase"\n')
    state = tmp_path / "state"
    store = open_store(state / "kiosk.sqlite", create=True)
    with store.write() as conn:
        SqlOutboxStore().append(conn, OutboxEvent("ev-1", "checkin", NOW, {"v": 1}))
    store.close()
    create_identity(state, NOW)
    root = tmp_path / "root"
    install_wifi(root, "Infomaniak", "venue-passphrase")
    (root / "etc/NetworkManager/system-connections/office.nmconnection").write_text("[connection]\nid=office\n")
    return path, root


def test_wipe_refuses_while_events_are_unsynced_then_erases(write_config: WriteConfig, tmp_path: Path) -> None:
    path, root = make_device(write_config, tmp_path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    refused = run_cli("wipe", "--config", str(path), "--root", str(root), "--yes")
    assert refused.returncode == 1 and "1 event(s)" in refused.stderr and "nothing removed" in refused.stderr
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before

    store = open_store(tmp_path / "state" / "kiosk.sqlite")
    with store.write() as conn:
        SqlOutboxStore().mark_synced(conn, ["ev-1"], NOW)
    store.close()
    dry = run_cli("wipe", "--config", str(path), "--root", str(root), "--dry-run")
    assert dry.returncode == 0 and "would remove" in dry.stdout
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before

    unconfirmed = run_cli("wipe", "--config", str(path), "--root", str(root))
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr

    done = run_cli("wipe", "--config", str(path), "--root", str(root), "--yes")
    assert done.returncode == 0, done.stderr
    assert not path.exists() and not (tmp_path / "secrets.toml").exists()
    assert list((tmp_path / "state").iterdir()) == []
    nm = root / "etc/NetworkManager/system-connections"
    assert [p.name for p in nm.iterdir()] == ["office.nmconnection"]  # not ours: kept
    assert list((root / "etc/wpa_supplicant").iterdir()) == []


def test_wipe_with_force_loses_unsynced_events_knowingly(write_config: WriteConfig, tmp_path: Path) -> None:
    path, root = make_device(write_config, tmp_path)
    done = run_cli("wipe", "--config", str(path), "--root", str(root), "--yes", "--force-unsynced")
    assert done.returncode == 0 and "events not yet acknowledged by central: 1" in done.stdout
    assert not (tmp_path / "state" / "kiosk.sqlite").exists()


def test_secret_command_merges_into_a_0600_file(write_config: WriteConfig, tmp_path: Path) -> None:
    path = write_config(MINIMAL + '\n[broker]\nusername = "k1"\n', secrets='[wifi]\npsk = "venue-passphrase"\n')
    result = run_cli("secret", "--config", str(path), "broker.password", stdin="from-central\n")
    assert result.returncode == 0, result.stderr
    secrets = tmp_path / "secrets.toml"
    assert secrets.stat().st_mode & 0o777 == 0o600
    config = load_config(path)
    assert config.broker.password is not None and config.broker.password.get_secret_value() == "from-central"
    assert config.wifi is not None and config.wifi.psk is not None  # the other secret is kept
    assert "from-central" not in result.stdout
    empty = run_cli("secret", "--config", str(path), "wifi.psk", stdin="\n")
    assert empty.returncode == 1 and "empty value" in empty.stderr
    secrets.chmod(0o644)
    exposed = run_cli("secret", "--config", str(path), "wifi.psk", stdin="another-passphrase\n")
    assert exposed.returncode == 1 and "chmod 600" in exposed.stderr


def test_hash_pin_command(write_config: WriteConfig) -> None:
    from firmware_config.pins import verify_pin

    made = run_cli("hash-pin", stdin="135790\n")
    assert made.returncode == 0 and verify_pin("135790", made.stdout.strip()) and "135790" not in made.stdout
    path = write_config(MINIMAL)
    assert run_cli("set", "--config", str(path), f"technician.pin_hash={made.stdout.strip()}").returncode == 0
    assert verify_pin("135790", load_config(path).technician.pin_hash)
    bad = run_cli("hash-pin", stdin="12ab\n")
    assert bad.returncode == 1 and "4 to 12 digits" in bad.stderr
