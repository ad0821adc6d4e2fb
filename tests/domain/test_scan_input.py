"""Whatever a scanner produces becomes bounded, printable text or is marked as junk — never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.scan_input import MAX_CODE_CHARS, STORED_PREFIX_CHARS, clean_scan


@given(st.binary(max_size=5000) | st.text(max_size=5000))
def test_never_raises_and_stays_bounded(raw: bytes | str) -> None:
    scan = clean_scan(raw)
    assert len(scan.stored) <= STORED_PREFIX_CHARS
    assert all(ch.isprintable() or ch == " " for ch in scan.stored)
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
