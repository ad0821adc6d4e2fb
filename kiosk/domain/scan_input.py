"""What a scanner hands us, made safe to reason about and to store: any bytes or text in, bounded text out."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# A failed scan keeps at most this much of what was read: enough to recognise a format, never a whole payload.
STORED_PREFIX_CHARS = 64
# Longer than any ticket code we accept (signed codes are ~150 characters, list codes far shorter).
MAX_CODE_CHARS = 512


@dataclass(frozen=True)
class ScanText:
    """A scanned value: `text` is what the rules look at, `stored` is what a failed-scan row may keep."""

    text: str
    stored: str
    junk: bool  # empty, too long, binary or made of control characters: cannot be any ticket


def _printable_prefix(text: str) -> str:
    kept = []
    for ch in text[: STORED_PREFIX_CHARS * 2]:
        cat = unicodedata.category(ch)
        kept.append("?" if cat[0] == "C" or cat in ("Zl", "Zp") else " " if cat == "Zs" else ch)
    return "".join(kept)[:STORED_PREFIX_CHARS]


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
    return ScanText(text="" if junk else text, stored=_printable_prefix(text), junk=junk)
