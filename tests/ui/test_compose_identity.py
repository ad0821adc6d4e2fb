"""compose and the store's identity: the app records under the store's device; a config naming another one
gives safe mode, not scans central would reject."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.identity import claim_store, store_identity_of
from kiosk.compose import compose_demo, compose_from_config
from tests.ui.test_compose import GOOD

AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def test_the_app_claims_a_new_store_for_its_configured_device(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(id="door-7", role="door"))
    services = compose_from_config(config)
    try:
        assert not services.safe_mode and services.device_id == "door-7"
        assert services.store is not None
        owner = store_identity_of(services.store)
        assert owner is not None and (owner.device_id, owner.venue_id, owner.role) == (
            "door-7",
            "theatre-du-lac",
            "door",
        )
    finally:
        services.close()


def test_a_config_naming_another_device_than_the_store_gives_safe_mode(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kiosk.sqlite", create=True)
    claim_store(store, "door-1", "theatre-du-lac", now=AT, claimed_by="firstboot")
    store.close()
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(id="door-7", role="door"))
    services = compose_from_config(config)
    assert services.safe_mode and services.scanning is None and services.store is None
    assert any(
        "belongs to device door-1" in p and "the config names device door-7" in p for p in services.config_problems
    )


def test_the_demo_uses_the_device_of_a_store_it_is_given(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    store = open_store(db, create=True)
    claim_store(store, "door-3", "demo", now=AT, claimed_by="demo-data")
    store.close()
    services = compose_demo(db, now=AT, camera=False, printing=False, tickets=5)
    try:
        assert services.device_id == "door-3"
    finally:
        services.close()
    fresh = compose_demo(tmp_path / "fresh.sqlite", now=AT, camera=False, printing=False, tickets=5)
    try:
        assert fresh.device_id == "demo-kiosk-1"
        assert fresh.store is not None and store_identity_of(fresh.store).device_id == "demo-kiosk-1"  # type: ignore[union-attr]
    finally:
        fresh.close()
