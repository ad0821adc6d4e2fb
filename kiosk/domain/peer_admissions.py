"""Peer admissions between doors: the id a peer sees instead of the event id, and the gaps in a door's sequence.

A door never shows its outbox event id (the id central dedupes on) to other doors: a peer holding it could
publish it on its own `tx` first and make central drop the real event. Peers see `peer_id(scan_id)`, a hash
that is the same at every door and at central's re-publication (so one admission is stored once) but gives
nothing to replay. Each door numbers its peer admissions 1, 2, 3… (`pseq`); a receiver that knows a door's top
asks for the numbers it lacks (`missing_ranges`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

DOMAIN = b"kiosk-peer-admission-v1:"
MAX_RANGES = 32  # ranges asked for in one request; the rest are asked for once these arrived


def peer_id(scan_id: str) -> str:
    """The id other doors know an admission by: 32 hex characters of SHA-256 over a domain and the scan id."""
    return hashlib.sha256(DOMAIN + scan_id.encode("utf-8")).hexdigest()[:32]


def missing_ranges(held: Iterable[int], top: int, limit: int = MAX_RANGES) -> list[tuple[int, int]]:
    """The inclusive ranges of 1..top not in `held` (ascending), at most `limit` of them."""
    out: list[tuple[int, int]] = []
    expected = 1
    for n in sorted(set(held)):
        if n > top:
            break
        if n > expected:
            out.append((expected, n - 1))
            if len(out) >= limit:
                return out
        expected = max(expected, n + 1)
    if expected <= top and len(out) < limit:
        out.append((expected, top))
    return out
