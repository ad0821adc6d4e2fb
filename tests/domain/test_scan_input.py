"""Whatever a scanner produces becomes bounded, printable text or is marked as junk — never an exception."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.scan_input import DIGEST_CHARS, MAX_CODE_CHARS, TICKET_PREFIX_CHARS, clean_scan, trace

KEY = b"k" * 32


@given(st.binary(max_size=5000) | st.text(max_size=5000))
def test_never_raises_and_stays_bounded(raw: bytes | str) -> None:
    scan = clean_scan(raw)
    seen = trace(scan, KEY)
    assert seen.prefix == "" or re.fullmatch(rf"[0-9A-Za-z-]{{{TICKET_PREFIX_CHARS}}}", seen.prefix)
    assert len(seen.digest) == DIGEST_CHARS and seen.length == scan.length
    assert scan.junk or (0 < len(scan.text) <= MAX_CODE_CHARS)


def test_scanner_suffixes_are_stripped() -> None:
    assert clean_scan("ABC123\r\n").text == "ABC123"
    assert clean_scan(b"ABC123\t").text == "ABC123"


def test_junk_kinds() -> None:
    for raw in ("", "   ", b"\xff\xfe\x00", "AB\x00CD", "A\x1b[31mB", "x" * 4096, "\ud800abc"):
        assert clean_scan(raw).junk, raw
    # Emoji, right-to-left marks and SQL-looking text are text: not junk, merely unknown codes later.
    assert not clean_scan("🎫 ticket").junk
    assert not clean_scan("'; DROP TABLE tickets; --").junk


def test_trace_keeps_a_prefix_only_of_ticket_like_reads_and_hashes_under_the_key() -> None:
    assert trace(clean_scan("K1ABCDEF0123"), KEY).prefix == "K1AB"
    assert trace(clean_scan("A7KQ2MZT9XPL"), KEY).prefix == "A7KQ"
    for personal in ("756.1234.5678.97", "Anna Muster", "anna@example.ch", "+41 79 123 45 67", "SPC\n0200\n1"):
        assert trace(clean_scan(personal), KEY).prefix == "", personal
    a, b = trace(clean_scan("same junk"), KEY), trace(clean_scan("same junk"), KEY)
    assert a.digest == b.digest != trace(clean_scan("same junk"), b"other key").digest
    assert trace(clean_scan("x" * 4096), KEY).length == 4096
    assert trace(clean_scan("x"), KEY, "qr_code").symbology == "qr_code"
    assert trace(clean_scan("x"), KEY, "QR Code; DROP").symbology is None
