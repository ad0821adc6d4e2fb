"""What a scanner hands us, made safe to reason about and to store: any bytes or text in, bounded text out.

A refused scan is kept (failed-scan row, `failed_scan` event) only as a `ScanTrace`: its length, symbology, a
keyed hash and — only when the text looks like one of our ticket codes — its first four characters. A scanned
QR-bill, vCard or AHV card therefore leaves no IBAN, name, phone or number in the store or at central.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

# Longer than any ticket code we accept (signed codes are ~150 characters, list codes far shorter).
MAX_CODE_CHARS = 512
# A refused text that looks like a ticket keeps this many leading characters: a format ("K1"), never an identity.
TICKET_PREFIX_CHARS = 4
# Hex digits of the keyed hash kept: 64 bits tell equal reads apart, and without the key they say nothing.
DIGEST_CHARS = 16
# Held in memory only; bounds what a 4 KB junk read costs, its real length is kept apart.
_KEEP_CHARS = 4096
# Signed codes (K1 + digits and capitals) and list codes are letters, digits and dashes only; a text with
# anything else (spaces, dots, newlines, '@', '+') is a document, a card or a contact, not a ticket.
_TICKET_LIKE = re.compile(r"[0-9A-Za-z-]{4,512}")


@dataclass(frozen=True)
class ScanText:
    """A scanned value: `text` is what the rules look at; `read` (bounded) never leaves memory."""

    text: str
    read: str  # the normalised read, junk or not: the debounce key and the input of `trace`
    length: int  # characters of the whole normalised read
    junk: bool  # empty, too long, binary or made of control characters: cannot be any ticket


@dataclass(frozen=True)
class ScanTrace:
    """What a failed scan keeps of what was read: enough to diagnose a fault, nothing that identifies anyone."""

    length: int
    prefix: str  # "" unless the read looks like a ticket code
    digest: str  # HMAC-SHA256 under the device's scan key, first DIGEST_CHARS hex digits
    symbology: str | None = None  # "qr_code", "code_128"… when the decoder said


def clean_scan(raw: str | bytes) -> ScanText:
    """Normalise a scanned value. Never raises: invalid UTF-8, NULs and 4 KB of junk all become junk."""
    # Lone surrogates (from broken decoders) are category Cs: they make the value junk below.
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    # Scanners add CR/LF/TAB suffixes and sometimes spaces; a ticket code never starts or ends with them.
    text = text.strip(" \t\r\n\x00")
    junk = (
        not text
        or len(text) > MAX_CODE_CHARS
        or "\ufffd" in text
        or any(unicodedata.category(ch)[0] == "C" for ch in text)
    )
    return ScanText(text="" if junk else text, read=text[:_KEEP_CHARS], length=len(text), junk=junk)


def looks_like_ticket(text: str) -> bool:
    """True for a text made only of the characters ticket codes use (it may still be unknown or forged)."""
    return _TICKET_LIKE.fullmatch(text) is not None


def trace(scan: ScanText, key: bytes, symbology: str | None = None) -> ScanTrace:
    """The diagnosable, non-identifying summary of a read; equal reads under one key give equal digests."""
    # Surrogates cannot be encoded strictly; "surrogatepass" keeps distinct junk distinct.
    digest = hmac.new(key, scan.read.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:DIGEST_CHARS]
    prefix = scan.read[:TICKET_PREFIX_CHARS] if looks_like_ticket(scan.read) else ""
    kind = symbology if symbology and re.fullmatch(r"[a-z][a-z0-9_]{0,31}", symbology) else None
    return ScanTrace(length=scan.length, prefix=prefix, digest=digest, symbology=kind)
