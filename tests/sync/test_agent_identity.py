"""`kiosk-sync` runs only as its store's device: another device or venue in its flags or config stops it at start."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.adapters.store.identity import claim_store, store_identity_of
from tests.fixtures.broker import free_port
from tests.sync.conftest import VENV_BIN, Keys, open_device_store

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def claimed_store(tmp_path: Path) -> Path:
    db = tmp_path / "dev.sqlite"
    store = open_device_store(db)
    claim_store(store, "door-a", "lac", now=AT, claimed_by="firstboot", role="door")
    store.close()
    return db


def kiosk_sync(*args: str) -> subprocess.CompletedProcess[str]:
    # Nothing listens on the broker port: an agent that started would retry for ever and hit the timeout.
    return subprocess.run(
        [str(VENV_BIN / "kiosk-sync"), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("device", "venue", "expected"),
    [("door-1", "lac", "names device door-1"), ("door-a", "elsewhere", "names venue elsewhere")],
)
def test_flags_naming_another_device_or_venue_refuse_to_start(
    tmp_path: Path, keys: Keys, device: str, venue: str, expected: str
) -> None:
    db = claimed_store(tmp_path)
    broker = f"mqtt://127.0.0.1:{free_port()}"
    result = kiosk_sync(
        "--db", str(db), "--broker", broker, "--venue", venue, "--device", device, "--central-key", str(keys.pub_file)
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback, no log of a connection attempt
    assert result.stderr.startswith(f"kiosk-sync: {db}: this store belongs to device door-a at venue lac")
    assert expected in result.stderr and "--device/--venue" in result.stderr


def test_a_config_naming_another_device_refuses_to_start(tmp_path: Path, keys: Keys) -> None:
    db = claimed_store(tmp_path)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        'version = 2\n[device]\nid = "door-7"\nvenue = "lac"\ngate = "main"\nrole = "door"\n'
        f'[broker]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'
        f'[paths]\ndatabase = "{db}"\nstate_dir = "{tmp_path}"\n'
    )
    result = kiosk_sync("--config", str(config), "--central-key", str(keys.pub_file))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"the config {config} names device door-7" in result.stderr
    store = open_device_store(db)
    assert store_identity_of(store).device_id == "door-a"  # type: ignore[union-attr]
    store.close()
