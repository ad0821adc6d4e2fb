"""First boot also tells the device store whose it is: the new id, the config's venue and role."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from firmware_config.identity import read_identity
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.identity import StoreIdentity, claim_store, store_identity_of
from tests.provision.conftest import MINIMAL, WriteConfig, run_cli

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def config_with_store(write_config: WriteConfig, device_id: str | None = None) -> Path:
    text = MINIMAL.replace("[device]\n", f'[device]\nid = "{device_id}"\n') if device_id else MINIMAL
    return write_config(text + '\n[paths]\nstate_dir = "state"\ndatabase = "data/kiosk.sqlite"\n')


def owner(db: Path) -> StoreIdentity | None:
    store = open_store(db)
    try:
        return store_identity_of(store)
    finally:
        store.close()


def test_firstboot_claims_a_new_store_for_the_new_identity(write_config: WriteConfig) -> None:
    config = config_with_store(write_config)
    result = run_cli("firstboot", "--config", str(config), "--no-qr")
    assert result.returncode == 0, result.stderr
    identity = read_identity(config.parent / "state")
    assert identity is not None
    claimed = owner(config.parent / "data" / "kiosk.sqlite")
    assert claimed is not None
    assert (claimed.device_id, claimed.venue_id, claimed.role, claimed.claimed_by) == (
        identity.device_id, "theatre-du-passage", "sales", "firstboot",
    )  # fmt: skip


def test_firstboot_claims_a_store_made_before_identities(write_config: WriteConfig) -> None:
    config = config_with_store(write_config, "till-2")
    db = config.parent / "data" / "kiosk.sqlite"
    open_store(db, create=True).close()
    assert run_cli("firstboot", "--config", str(config), "--no-qr").returncode == 0
    assert owner(db).device_id == "till-2"  # type: ignore[union-attr]


def test_firstboot_refuses_a_store_of_another_device_before_making_anything(write_config: WriteConfig) -> None:
    config = config_with_store(write_config, "till-2")
    db = config.parent / "data" / "kiosk.sqlite"
    store = open_store(db, create=True)
    claim_store(store, "door-9", "theatre-du-passage", now=AT, claimed_by="firstboot")
    store.close()
    result = run_cli("firstboot", "--config", str(config), "--no-qr")
    assert result.returncode == 1 and "already belongs to device door-9" in result.stderr
    assert "Traceback" not in result.stderr
    assert read_identity(config.parent / "state") is None  # no identity made for a store it cannot claim
    assert owner(db).device_id == "door-9"  # type: ignore[union-attr]
