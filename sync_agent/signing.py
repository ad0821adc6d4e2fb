"""Ed25519 signatures over canonical JSON for central → device messages (the `cryptography` package).

Canonical form: `json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` in UTF-8. Bodies
hold no floats (decimals travel as strings), so the form is stable across Python and other implementations.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from kiosk.domain.errors import KioskError


class SignatureError(KioskError):
    """The message is unsigned, signed by an unknown key, or its signature does not verify."""

    reason = "bad_signature"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def canonical(body: Any) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def key_id(public: Ed25519PublicKey) -> str:
    """A short stable id for a public key: the first 8 bytes of it, hex (lets central rotate keys)."""
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)[:8].hex()


class Signer:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.kid = key_id(self.public)

    def envelope(self, body: dict[str, Any]) -> dict[str, Any]:
        sig = self._private.sign(canonical(body))
        return {"kid": self.kid, "body": body, "sig": base64.b64encode(sig).decode()}

    def public_hex(self) -> str:
        return self.public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


class Verifier:
    """Trusted central public keys by key id."""

    def __init__(self, keys: list[Ed25519PublicKey]) -> None:
        self._keys = {key_id(k): k for k in keys}

    def open(self, message: Any) -> dict[str, Any]:
        """The verified body of an envelope, or SignatureError saying what is wrong."""
        if not isinstance(message, dict) or "sig" not in message or "body" not in message:
            raise SignatureError("unsigned")
        kid, sig, body = message.get("kid"), message.get("sig"), message.get("body")
        if not isinstance(body, dict) or not isinstance(sig, str):
            raise SignatureError("malformed_envelope")
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise SignatureError("unknown_key")
        try:
            key.verify(base64.b64decode(sig, validate=True), canonical(body))
        except (InvalidSignature, ValueError) as exc:
            raise SignatureError("bad_signature") from exc
        return body


def load_or_create_private_key(path: Path) -> Ed25519PrivateKey:
    """Central's signing key from `path` (raw 32 bytes hex); created 0600 if missing."""
    if path.exists():
        mode = path.stat().st_mode & 0o077
        if mode:
            raise PermissionError(f"{path}: signing key readable by others (mode {oct(mode)}); chmod 600 it")
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex() + "\n")
    return key


def write_public_key(path: Path, private: Ed25519PrivateKey) -> None:
    path.write_text(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex() + "\n")


def load_public_keys(path: Path) -> list[Ed25519PublicKey]:
    """Trusted keys: one hex public key per line (blank lines and # comments ignored)."""
    keys = []
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            keys.append(Ed25519PublicKey.from_public_bytes(bytes.fromhex(text)))
    if not keys:
        raise ValueError(f"{path}: no public key in the file")
    return keys
