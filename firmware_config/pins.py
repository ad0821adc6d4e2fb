"""Technician PIN hashing with scrypt from the standard library (salted, constant-time comparison)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# N=2**14, r=8, p=1: 16 MiB and ~30 ms per try on this 2-core machine (bench/RESULTS.md). That only slows an
# offline guess: all 10^4 four-digit PINs take ~5 min, so only long PINs survive a stolen config file;
# the PIN guards the technician menu on the device, which must also limit attempts (UI side).
_N, _R, _P = 2**14, 8, 1
PIN_HASH_PATTERN = r"scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9_-]{16,}\$[A-Za-z0-9_-]{32,}"
PIN_PATTERN = r"[0-9]{4,12}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def valid_pin(pin: str) -> bool:
    return re.fullmatch(PIN_PATTERN, pin) is not None


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """Hash a PIN of 4 to 12 digits as `scrypt$N$r$p$salt$hash`."""
    if not valid_pin(pin):
        raise ValueError("a technician PIN is 4 to 12 digits")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_pin(pin: str, pin_hash: str | None) -> bool:
    """True when `pin` matches; False for a wrong PIN, a missing hash or a malformed one (never raises)."""
    if pin_hash is None or re.fullmatch(PIN_HASH_PATTERN, pin_hash) is None:
        return False
    _, n, r, p, salt, digest = pin_hash.split("$")
    try:
        candidate = hashlib.scrypt(
            pin.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(_unb64(digest))
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(candidate, _unb64(digest))
