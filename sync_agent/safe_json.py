"""Bounded JSON parsing for whatever arrives from the network: size and nesting checked before `json.loads`.

`json.loads` recurses once per nesting level and raises `RecursionError` (not `ValueError`) on a deep enough
document: a 400 KB `[[[[…` killed the agent's MQTT loop, and, QoS 1 on a persistent session, again at every
restart. So the nesting is measured first by a byte scan that cannot recurse (brackets outside strings), the
size before that, and NaN, Infinity, numbers too big for a finite float and lone surrogates (text SQLite cannot
store) are refused. Every refusal is a `JsonRefused` (a `KioskError` and a `ValueError`) with a short stable `reason`.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from kiosk.domain.errors import KioskError

MAX_DEPTH = 64  # the deepest protocol message (a signed envelope around a sale's lines) nests about 8 levels

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
# A UTF-16 surrogate escape; only the rare document holding one is checked for lone halves.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class JsonRefused(KioskError, ValueError):
    """Not parsed: `reason` is `too_large`, `too_deep` or `malformed_json`."""

    reason = "malformed_json"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason, reason=reason)
        self.detail = detail


def deeper_than(raw: bytes, limit: int) -> bool:
    """True when arrays and objects in `raw` nest deeper than `limit`: counted without parsing, strings skipped.

    In UTF-8 the bytes of `[]{}"\\` never occur inside a multi-byte character, so a byte scan sees what the parser
    sees; wherever input stops being JSON, the parser stops too (and refuses it as malformed)."""
    # Escaped backslashes, then escaped quotes, go first (left to right, as a parser pairs them); of what is left,
    # the brackets outside quotes are the structure. All of it at C speed; only the brackets are walked in Python,
    # until the first one past the limit.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.translate(None, _NOT_STRUCTURE).split(b'"')[::2])
    return any(depth > limit for depth in accumulate(map(_STEP.__getitem__, brackets)))


def _constant(name: str) -> Any:
    raise JsonRefused("malformed_json", f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused("malformed_json", f"number out of range: {text[:40]}")
    return value


def loads(raw: bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """`raw` (UTF-8 JSON) parsed, or `JsonRefused` — never `RecursionError`, `MemoryError` for a big nesting."""
    if len(raw) > max_bytes:
        raise JsonRefused("too_large", f"{len(raw)} bytes, at most {max_bytes}")
    # As many brackets as the bound allows cannot nest deeper than it: most messages skip the scan.
    if raw.count(b"[") + raw.count(b"{") > max_depth and deeper_than(raw, max_depth):
        raise JsonRefused("too_deep", f"arrays and objects nested deeper than {max_depth}")
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_constant=_constant, parse_float=_finite)
    except JsonRefused:
        raise
    except RecursionError as exc:  # cannot happen below MAX_DEPTH; a second belt should the scan be wrong
        raise JsonRefused("too_deep", "recursion") from exc
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, an integer of more than 4300 digits
        raise JsonRefused("malformed_json", str(exc)[:120]) from exc
    if _SURROGATE_ESCAPE.search(raw):
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JsonRefused("malformed_json", "a lone UTF-16 surrogate") from exc
    return data
