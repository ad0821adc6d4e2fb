"""First boot: identity made on the device, never overwritten; enrollment payload and QR code; Wi-Fi profiles."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from firmware_config.identity import IdentityError, create_identity, load_private_key, read_identity
from firmware_config.loader import load_config
from firmware_config.wizard.wifi import WifiError, derive_psk, render_nm_keyfile, render_wpa_supplicant
from tests.provision.conftest import MINIMAL, WriteConfig, run_cli

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def config_with_state(write_config: WriteConfig, extra: str = "", secrets: str | None = None) -> Path:
    return write_config(MINIMAL + '\n[paths]\nstate_dir = "state"\ndatabase = "state/kiosk.sqlite"\n' + extra, secrets)


def test_identity_created_once_with_private_key_mode_0600(tmp_path: Path) -> None:
    identity = create_identity(tmp_path, NOW)
    key = load_private_key(tmp_path)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert public == identity.public_key
    assert read_identity(tmp_path) == identity
    for name in ("device.json", "device_key.pem"):
        assert stat.S_IMODE((tmp_path / "identity" / name).stat().st_mode) == 0o600
    before = (tmp_path / "identity" / "device_key.pem").read_bytes()
    with pytest.raises(IdentityError, match="already exists"):
        create_identity(tmp_path, NOW)
    assert (tmp_path / "identity" / "device_key.pem").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["identity"]  # no staging directory left


def test_partial_identity_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity" / "device_key.pem").write_text("a key someone cares about")
    with pytest.raises(IdentityError, match="refusing to overwrite"):
        create_identity(tmp_path, NOW)
    assert (tmp_path / "identity" / "device_key.pem").read_text() == "a key someone cares about"


def test_two_devices_get_different_ids(tmp_path: Path) -> None:
    a, b = create_identity(tmp_path / "a", NOW), create_identity(tmp_path / "b", NOW)
    assert a.device_id != b.device_id and a.device_id.startswith("kiosk-")


def test_firstboot_cli_prints_enrollment_and_qr_then_refuses(write_config: WriteConfig) -> None:
    path = config_with_state(write_config)
    first = run_cli("firstboot", "--config", str(path))
    assert first.returncode == 0, first.stderr
    line = next(x for x in first.stdout.splitlines() if x.startswith("enrollment: "))
    payload = json.loads(line.removeprefix("enrollment: "))
    identity = read_identity(path.parent / "state")
    assert identity is not None
    assert payload["device_id"] == identity.device_id and payload["venue"] == "theatre-du-passage"
    assert base64.urlsafe_b64decode(payload["public_key"] + "=") == identity.public_key
    assert "█" in first.stdout and "▄" in first.stdout  # the QR code, in half blocks
    # the loader now knows the device id without it being written in the config
    assert load_config(path).device_id == identity.device_id
    second = run_cli("firstboot", "--config", str(path), "--no-qr")
    assert second.returncode == 1 and "already exists" in second.stderr and identity.device_id in second.stderr
    assert read_identity(path.parent / "state") == identity


def test_psk_matches_the_ieee_802_11i_test_vector() -> None:
    assert derive_psk("IEEE", "password") == "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"


def test_wifi_profiles_carry_the_derived_key_not_the_passphrase() -> None:
    nm = render_nm_keyfile("Infomaniak", "venue-passphrase")
    wpa = render_wpa_supplicant("Infomaniak", "venue-passphrase")
    psk = derive_psk("Infomaniak", "venue-passphrase")
    for text in (nm, wpa):
        assert "venue-passphrase" not in text and f"psk={psk}" in text
    assert "ssid=Infomaniak\n" in nm and "key-mgmt=wpa-psk" in nm and "type=wifi" in nm
    assert 'ssid="Infomaniak"' in wpa and "country=CH" in wpa
    assert render_nm_keyfile("Infomaniak", "venue-passphrase") == nm  # stable uuid: same file twice
    odd = render_wpa_supplicant('Caf"é\nx', "venue-passphrase")
    assert 'Caf"' not in odd and "ssid=" + 'Caf"é\nx'.encode().hex() in odd


@pytest.mark.parametrize("passphrase", ["short", "x" * 64, "pâssphrase"])
def test_bad_passphrases_are_refused(passphrase: str) -> None:
    with pytest.raises(WifiError):
        render_nm_keyfile("Infomaniak", passphrase)


def test_wifi_cli_writes_0600_profiles_into_a_root(write_config: WriteConfig, tmp_path: Path) -> None:
    path = config_with_state(write_config, secrets='[wifi]\npsk = "venue-passphrase"\n')
    root = tmp_path / "image"
    result = run_cli("wifi", "--config", str(path), "--root", str(root))
    assert result.returncode == 0, result.stderr
    nm = root / "etc/NetworkManager/system-connections/Infomaniak.nmconnection"
    wpa = root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
    assert stat.S_IMODE(nm.stat().st_mode) == 0o600 and stat.S_IMODE(wpa.stat().st_mode) == 0o600
    assert derive_psk("Infomaniak", "venue-passphrase") in nm.read_text()


def test_wifi_cli_without_passphrase_fails_and_writes_nothing(write_config: WriteConfig, tmp_path: Path) -> None:
    path = config_with_state(write_config, extra='\n[wifi]\nssid = "Infomaniak"\n')
    root = tmp_path / "image"
    result = run_cli("wifi", "--config", str(path), "--root", str(root))
    assert result.returncode == 1 and "no Wi-Fi passphrase" in result.stderr
    assert not root.exists()


def test_show_masks_secrets_unless_asked(write_config: WriteConfig) -> None:
    secrets = '[broker]\npassword = "s3cret-pw"\n[wifi]\npsk = "passphrase1"\n'
    path = write_config(MINIMAL + '\n[broker]\nusername = "k1"\n', secrets=secrets)
    masked = run_cli("show", "--config", str(path))
    assert masked.returncode == 0 and "s3cret-pw" not in masked.stdout and "passphrase1" not in masked.stdout
    assert masked.stdout.count('"********"') == 2
    shown = run_cli("show", "--config", str(path), "--reveal", "--json")
    data = json.loads(shown.stdout)
    assert data["broker"]["password"] == "s3cret-pw" and data["wifi"]["psk"] == "passphrase1"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run firstboot for another user")
def test_identity_made_by_root_belongs_to_the_state_directory_owner(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.chown(state, 4242, 4243)  # as StateDirectory= makes /var/lib/kiosk the kiosk user's
    create_identity(state, NOW)
    for path in (state / "identity", state / "identity" / "device.json", state / "identity" / "device_key.pem"):
        assert (path.stat().st_uid, path.stat().st_gid) == (4242, 4243), path
