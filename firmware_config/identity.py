"""First boot: the device id and its Ed25519 key pair, made on the device (never in the image), never overwritten.

Layout under the state directory::

    identity/device.json      {"device_id", "public_key" (base64url, 32 bytes), "created_at"}
    identity/device_key.pem   PKCS#8 private key, mode 0600

Both files are written into a fresh temporary directory which is then renamed to `identity/` in one step, so a
power cut leaves either no identity or a whole one.

`provision_identity` (what `kiosk-provision firstboot` runs) also records the id, venue and role in the device
store (`kiosk.adapters.store.identity`), so every writer on the device records under the same id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.adapters.private_files import make_private_dirs
from kiosk.domain.errors import KioskError

IDENTITY_DIR = "identity"
DEVICE_FILE = "device.json"
KEY_FILE = "device_key.pem"
ENROLLMENT_KIND = "kiosk-enrollment/v1"


class IdentityError(KioskError):
    """The identity cannot be created or read (already exists, unreadable, damaged), or the store is another's."""

    reason = "device_identity"


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    public_key: bytes
    created_at: str

    @property
    def public_key_b64(self) -> str:
        return base64.urlsafe_b64encode(self.public_key).decode("ascii").rstrip("=")

    def enrollment_payload(self, venue: str, gate: str, role: str) -> dict[str, Any]:
        """What central needs to enroll the device: who it is, where it stands, and its public key."""
        return {
            "kind": ENROLLMENT_KIND,
            "device_id": self.device_id,
            "venue": venue,
            "gate": gate,
            "role": role,
            "public_key": self.public_key_b64,
            "fingerprint": fingerprint(self.public_key),
            "created_at": self.created_at,
        }


def fingerprint(public_key: bytes) -> str:
    """Short hex fingerprint a technician can read aloud to compare with central's screen."""
    digest = hashlib.sha256(public_key).hexdigest()[:16]
    return ":".join(digest[i : i + 4] for i in range(0, 16, 4))


def device_id_for(public_key: bytes) -> str:
    """The id is derived from the key: two devices cannot share an id without sharing a key."""
    return "kiosk-" + base64.b32encode(hashlib.sha256(public_key).digest()).decode("ascii")[:10].lower()


def identity_dir(state_dir: Path) -> Path:
    return Path(state_dir) / IDENTITY_DIR


def read_identity(state_dir: Path) -> DeviceIdentity | None:
    """The identity made at first boot, or None before it; IdentityError if it is damaged."""
    target = identity_dir(state_dir) / DEVICE_FILE
    if not target.exists():
        return None
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
        public = base64.urlsafe_b64decode(data["public_key"] + "=" * (-len(data["public_key"]) % 4))
        return DeviceIdentity(str(data["device_id"]), public, str(data["created_at"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IdentityError(f"{target}: damaged identity ({exc})") from None


def read_device_id(state_dir: Path) -> str | None:
    try:
        identity = read_identity(state_dir)
    except IdentityError:
        return None
    return identity.device_id if identity else None


def load_private_key(state_dir: Path) -> Ed25519PrivateKey:
    path = identity_dir(state_dir) / KEY_FILE
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise IdentityError(f"{path}: not an Ed25519 key")
    return key


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _give_to_state_owner(state_dir: Path, paths: list[Path]) -> None:
    """Run as root (`sudo kiosk-provision firstboot`), hand the identity to the state directory's owner.

    The services run as the `kiosk` user, which owns /var/lib/kiosk (StateDirectory=); a root-owned 0600 key
    there would lock them out of their own identity.
    """
    owner = state_dir.stat()
    if os.geteuid() == 0 and owner.st_uid != 0:
        for path in paths:
            os.chown(path, owner.st_uid, owner.st_gid)


def create_identity(state_dir: Path, now: datetime, device_id: str | None = None) -> DeviceIdentity:
    """Make the key pair and id; refuse if any identity (even a partial one) is already there."""
    state_dir = Path(state_dir)
    target = identity_dir(state_dir)
    if target.exists() and any(target.iterdir()):
        existing = read_device_id(state_dir)
        name = f" ({existing})" if existing else ""
        raise IdentityError(
            f"{target}: an identity already exists{name}; refusing to overwrite it. "
            "Wipe the device first (see docs/operations.md) if it really must get a new one."
        )
    make_private_dirs(state_dir)  # 0700 whatever the umask
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    identity = DeviceIdentity(device_id or device_id_for(public), public, now.isoformat())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    staging = Path(tempfile.mkdtemp(prefix=".identity-", dir=state_dir))
    try:
        os.chmod(staging, 0o700)
        _write_private(staging / KEY_FILE, pem)
        record = {
            "device_id": identity.device_id,
            "public_key": identity.public_key_b64,
            "created_at": identity.created_at,
        }
        _write_private(staging / DEVICE_FILE, (json.dumps(record, indent=2) + "\n").encode())
        _give_to_state_owner(state_dir, [staging, staging / KEY_FILE, staging / DEVICE_FILE])
        if target.exists():
            target.rmdir()  # empty (checked above); rename would refuse a non-empty one anyway
        os.rename(staging, target)
    except BaseException:
        for leftover in staging.glob("*"):
            leftover.unlink()
        if staging.exists():
            staging.rmdir()
        raise
    dir_fd = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return identity


def _store_owner(database: Path) -> str | None:
    """The device id recorded in an existing store ("" for an unclaimed one), None when there is no store yet."""
    from kiosk.adapters.store.engine import StoreError, open_store
    from kiosk.adapters.store.identity import store_identity_of

    if not database.exists():
        return None
    try:
        store = open_store(database)
    except StoreError as exc:
        raise IdentityError(str(exc), reason="store_unusable") from None
    try:
        owner = store_identity_of(store)
    finally:
        store.close()
    return owner.device_id if owner else ""


def claim_device_store(database: Path, device_id: str, venue: str, role: str, now: datetime) -> None:
    """Record in the device store (made if missing) that it belongs to `device_id` at `venue`."""
    from kiosk.adapters.store.engine import StoreError, open_store
    from kiosk.adapters.store.identity import IdentityError as StoreIdentityError
    from kiosk.adapters.store.identity import claim_store

    try:
        store = open_store(database, create=True)
        try:
            claim_store(store, device_id, venue, now=now, claimed_by="firstboot", role=role, named_by="first boot")
        finally:
            store.close()
    except (StoreError, StoreIdentityError) as exc:
        raise IdentityError(str(exc), reason=getattr(exc, "reason", "store_unusable")) from None
    files = [f for f in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if f.exists()]
    _give_to_state_owner(database.parent, files)


def provision_identity(state_dir: Path, database: Path, config_device: Any, now: datetime) -> DeviceIdentity:
    """First boot: make the identity and claim the device store for it (`config_device`: the config's [device]).

    A store that already belongs to another device is refused before anything is made (a store left from an
    earlier life of this device: wipe it first). If the store cannot be claimed after the identity was made, the
    identity stays (it is what first boot is for) and IdentityError says so; the app or `kiosk-sync` claims the
    store at their first start, or a technician runs `kiosk store claim`.
    """
    database = Path(database)
    owner = _store_owner(database)
    # An existing identity is refused by create_identity below, with its own message.
    if owner and owner != (config_device.id or read_device_id(state_dir)):
        raise IdentityError(
            f"{database}: this store already belongs to device {owner}; wipe the device (kiosk-provision wipe) "
            "or point paths.database at a new file before the first boot",
            reason="device_mismatch",
        )
    identity = create_identity(state_dir, now, device_id=config_device.id)
    try:
        claim_device_store(database, identity.device_id, config_device.venue, config_device.role.value, now)
    except IdentityError as exc:
        raise IdentityError(
            f"identity {identity.device_id} made, but the store was not claimed: {exc}", reason=exc.reason
        ) from None
    return identity
