"""Signed compact ticket codes: Ed25519 over a small binary payload, written in QR-alphanumeric characters.

Text form: ``K1`` (format version) followed by the payload and its signature in base32 with our own alphabet
``0-9 A-X`` without ``I`` and ``O``. Digits and capitals keep the QR in alphanumeric mode (smaller symbol than
byte mode); leaving out ``Y`` and ``Z`` means a USB scanner typing into a QWERTZ (Swiss) keyboard layout cannot
swap them, and leaving out ``I``/``O`` avoids misreading by people keying a code by hand.

Binary payload, big-endian (version 1)::

    B flags (1 = performance follows, 2 = validity window follows)
    Q ticket id      I event id      I tariff id      H issuer key id      B entries allowed
    [I performance id]   [I valid from, I valid until  (unix seconds)]
    64 bytes Ed25519 signature over DOMAIN + version + the bytes above

The domain string makes a signature over a ticket useless for any other message signed with the same key.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.domain.errors import KioskError
from kiosk.domain.model import IssuerKey, TicketRecord

PREFIX = "K1"
DOMAIN = b"venue-kiosk ticket code\x00"
_VERSION = b"\x01"
_HEAD = struct.Struct(">BQIIHB")
_U32 = struct.Struct(">I")
_WINDOW = struct.Struct(">II")
_SIG_LEN = 64
_FLAG_PERFORMANCE = 1
_FLAG_WINDOW = 2
_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_OURS = b"0123456789ABCDEFGHJKLMNPQRSTUVWX"
_TO_OURS = bytes.maketrans(_STD, _OURS)
_TO_STD = bytes.maketrans(_OURS, _STD)
# Longest text a version-1 code can have; anything longer is not one of ours.
MAX_CODE_LENGTH = len(PREFIX) + (_HEAD.size + 4 + 8 + _SIG_LEN) * 8 // 5 + 1


class CodeError(KioskError, ValueError):
    """A code that looks signed but cannot be trusted. `reason` is a stable snake_case word."""

    reason = "bad_code"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TicketClaims:
    """What a signed code asserts about its ticket."""

    ticket_id: int
    event_id: int
    tariff_id: int
    key_id: int
    entries_allowed: int = 1
    performance_id: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def as_ticket(self, code: str) -> TicketRecord:
        return TicketRecord(
            ticket_id=self.ticket_id,
            event_id=self.event_id,
            tariff_id=self.tariff_id,
            performance_id=self.performance_id,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            entries_allowed=self.entries_allowed,
            code=code,
        )


def looks_signed(text: str) -> bool:
    """True when the text claims to be a signed code (it may still be forged or damaged)."""
    return text[: len(PREFIX)].upper() == PREFIX and len(text) > len(PREFIX)


def _pack(claims: TicketClaims) -> bytes:
    flags = (_FLAG_PERFORMANCE if claims.performance_id is not None else 0) | (
        _FLAG_WINDOW if claims.valid_from is not None and claims.valid_until is not None else 0
    )
    body = _HEAD.pack(flags, claims.ticket_id, claims.event_id, claims.tariff_id, claims.key_id, claims.entries_allowed)
    if claims.performance_id is not None:
        body += _U32.pack(claims.performance_id)
    if claims.valid_from is not None and claims.valid_until is not None:
        body += _WINDOW.pack(int(claims.valid_from.timestamp()), int(claims.valid_until.timestamp()))
    return body


def _unpack(body: bytes) -> TicketClaims:
    if len(body) < _HEAD.size:
        raise CodeError("malformed")
    flags, ticket_id, event_id, tariff_id, key_id, entries = _HEAD.unpack_from(body)
    expected = _HEAD.size + (4 if flags & _FLAG_PERFORMANCE else 0) + (8 if flags & _FLAG_WINDOW else 0)
    if flags & ~(_FLAG_PERFORMANCE | _FLAG_WINDOW) or len(body) != expected:
        raise CodeError("malformed")
    offset = _HEAD.size
    performance_id = valid_from = valid_until = None
    if flags & _FLAG_PERFORMANCE:
        (performance_id,) = _U32.unpack_from(body, offset)
        offset += 4
    if flags & _FLAG_WINDOW:
        start, end = _WINDOW.unpack_from(body, offset)
        valid_from, valid_until = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    return TicketClaims(ticket_id, event_id, tariff_id, key_id, entries, performance_id, valid_from, valid_until)


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).rstrip(b"=").translate(_TO_OURS).decode("ascii")


def _decode(text: str) -> bytes:
    data = text.upper().encode("ascii", "strict")
    if data.translate(None, _OURS):
        raise CodeError("malformed")
    std = data.translate(_TO_STD)
    try:
        raw = base64.b32decode(std + b"=" * (-len(std) % 8))
    except ValueError as exc:
        raise CodeError("malformed") from exc
    # Trailing characters carry unused bits; only the canonical spelling is accepted, so that every change
    # to a code's characters changes its bytes (and so breaks its signature).
    if _encode(raw) != data.decode("ascii"):
        raise CodeError("malformed")
    return raw


def issue(claims: TicketClaims, private_key: Ed25519PrivateKey) -> str:
    """The printable code for these claims, signed with the issuer's key."""
    body = _pack(claims)
    signature = private_key.sign(DOMAIN + _VERSION + body)
    return PREFIX + _encode(body + signature)


def parse_unverified(text: str) -> tuple[TicketClaims, bytes, bytes]:
    """Split a code into claims, signed bytes and signature, without checking the signature."""
    if not looks_signed(text) or len(text) > MAX_CODE_LENGTH:
        raise CodeError("malformed")
    try:
        raw = _decode(text[len(PREFIX) :])
    except UnicodeEncodeError as exc:
        raise CodeError("malformed") from exc
    if len(raw) <= _SIG_LEN:
        raise CodeError("malformed")
    body, signature = raw[:-_SIG_LEN], raw[-_SIG_LEN:]
    return _unpack(body), DOMAIN + _VERSION + body, signature


class Keyring:
    """The issuer public keys a device trusts, with the parsed key objects cached."""

    def __init__(self, keys: list[IssuerKey] | tuple[IssuerKey, ...] = ()) -> None:
        self._keys = {k.key_id: k for k in keys}
        self._loaded: dict[int, Ed25519PublicKey] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def public_key(self, key_id: int) -> Ed25519PublicKey:
        key = self._keys.get(key_id)
        if key is None:
            raise CodeError("unknown_key")
        if key.revoked:
            raise CodeError("key_revoked")
        loaded = self._loaded.get(key_id)
        if loaded is None:
            try:
                loaded = Ed25519PublicKey.from_public_bytes(key.public_key)
            except ValueError as exc:
                raise CodeError("unknown_key") from exc
            self._loaded[key_id] = loaded
        return loaded


def verify(text: str, keyring: Keyring) -> TicketClaims:
    """The claims of a genuine code; raises CodeError(reason) for malformed, unknown-key or forged codes."""
    claims, signed, signature = parse_unverified(text)
    key = keyring.public_key(claims.key_id)
    try:
        key.verify(signature, signed)
    except InvalidSignature as exc:
        raise CodeError("bad_signature") from exc
    return claims


def public_key_bytes(private_key: Ed25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
