"""The store's identity row: claimed once, the same claim again is fine, another device or venue is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command

from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.identity import (
    IdentityError,
    claim_store,
    store_identity_of,
    writer_device,
)
from kiosk.adapters.store.migrate import alembic_config
from kiosk.domain.errors import KioskError

AT = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_claim_once_then_same_claim_is_idempotent_and_others_are_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite", create=True)
    assert store_identity_of(store) is None
    first = claim_store(store, "door-1", "lac", now=AT, claimed_by="firstboot", role="door")
    assert (first.device_id, first.venue_id, first.role, first.claimed_by, first.created_at) == (
        "door-1", "lac", "door", "firstboot", AT,
    )  # fmt: skip
    again = claim_store(store, "door-1", "lac", now=datetime(2028, 1, 1, tzinfo=UTC), claimed_by="kiosk-sync")
    assert again == first  # nothing rewritten: created_at and claimed_by stay the first claim's
    with pytest.raises(IdentityError) as device:
        claim_store(store, "door-2", "lac", now=AT, claimed_by="claim", named_by="--device")
    assert device.value.reason == "device_mismatch" and isinstance(device.value, KioskError)
    assert "belongs to device door-1 at venue lac" in str(device.value) and "door-2" in str(device.value)
    assert str(store.path) in str(device.value)
    with pytest.raises(IdentityError) as venue:
        claim_store(store, "door-1", "other-venue", now=AT, claimed_by="claim")
    assert venue.value.reason == "venue_mismatch"
    assert store_identity_of(store) == first
    store.close()


def test_the_role_follows_the_configuration(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite", create=True)
    claim_store(store, "till-1", "lac", now=AT, claimed_by="firstboot")
    assert writer_device(store).role is None
    assert claim_store(store, "till-1", "lac", now=AT, claimed_by="app", role="both").role == "both"
    assert writer_device(store).role == "both"
    store.close()


@pytest.mark.parametrize(
    ("device", "venue", "role"),
    [
        ("Door 1", "lac", None),
        ("door/1", "lac", None),
        ("door-1", "", None),
        ("door-1", "lac", "cashier"),
        ("#", "lac", None),
    ],
)
def test_ids_that_cannot_be_topic_segments_are_refused(
    tmp_path: Path, device: str, venue: str, role: str | None
) -> None:
    store = open_store(tmp_path / "s.sqlite", create=True)
    with pytest.raises(IdentityError) as err:
        claim_store(store, device, venue, now=AT, claimed_by="claim", role=role)
    assert err.value.reason == "bad_identity"
    assert store_identity_of(store) is None
    store.close()


def test_writer_device_needs_a_claimed_store_and_a_matching_request(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.sqlite", create=True)
    with pytest.raises(IdentityError) as missing:
        writer_device(store)
    assert missing.value.reason == "no_identity" and "kiosk store claim" in str(missing.value)
    claim_store(store, "door-1", "lac", now=AT, claimed_by="claim")
    assert writer_device(store).device_id == "door-1"
    assert writer_device(store, "door-1").device_id == "door-1"
    with pytest.raises(IdentityError, match="names device kiosk-cli"):
        writer_device(store, "kiosk-cli")
    store.close()


def test_a_store_made_before_identities_opens_and_gets_the_table_unclaimed(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    store = open_store(db, create=True, migrate=False)
    cfg = alembic_config()
    with store.engine.connect() as conn:  # the schema as it was before 0005_identity
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_sync")
        command.upgrade(cfg, "0004_sales")
        command.upgrade(cfg, "0002_printing")
        conn.commit()
        conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('probe', 'kept')")
        conn.commit()
    store.close()
    store = open_store(db)
    assert store_identity_of(store) is None
    with store.read() as conn:
        assert conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'probe'").scalar() == "kept"
    assert claim_store(store, "door-1", "lac", now=AT, claimed_by="claim").device_id == "door-1"
    store.close()
