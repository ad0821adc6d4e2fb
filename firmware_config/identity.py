"""First boot: the device id and its Ed25519 key pair, made on the device (never in the image), never overwritten.

Layout under the state directory::

    identity/device.json      {"device_id", "public_key" (base64url, 32 bytes), "created_at"}
    identity/device_key.pem   PKCS#8 private key, mode 0600

Both files are written into a fresh temporary directory which is then renamed to `identity/` in one step, so a
power cut leaves either no identity or a whole one.
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

IDENTITY_DIR = "identity"
DEVICE_FILE = "device.json"
KEY_FILE = "device_key.pem"
ENROLLMENT_KIND = "kiosk-enrollment/v1"


class IdentityError(Exception):
    """The identity cannot be created or read (already exists, unreadable, damaged)."""


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
    state_dir.mkdir(parents=True, exist_ok=True)
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
