"""Device keys of the test doors: made from the door's name (repeatable), listed in a store as a catalog would."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.adapters.store import peer_repository
from kiosk.adapters.store.engine import Store

TEST_DOORS = ("door-a", "door-b", "door-c", "door-d")


def door_key(device: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"test door key:" + device.encode()).digest())


def door_key_pem(device: str) -> bytes:
    return door_key(device).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def door_public_hex(device: str) -> str:
    return door_key(device).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def device_keys_section(devices: tuple[str, ...] = TEST_DOORS) -> list[dict[str, str]]:
    """The catalog's `device_keys` section for these doors."""
    return [{"device_id": d, "public_key": door_public_hex(d)} for d in devices]


def trust_test_doors(store: Store, devices: tuple[str, ...] = TEST_DOORS, *, if_none: bool = False) -> None:
    """List the doors' keys in `store`; `if_none`: only when it lists none yet (a read first: no write lock)."""
    if if_none:
        with store.read() as conn:
            if any(peer_repository.peer_key(conn, d) for d in devices):
                return
    with store.write() as conn:
        peer_repository.replace_peer_keys(conn, [(d, door_public_hex(d)) for d in devices])
