"""Signed ticket codes: round trip, QR-alphanumeric alphabet, and that any single change breaks the signature."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.domain import codes
from kiosk.domain.model import IssuerKey

KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
KEYRING = codes.Keyring([IssuerKey(3, codes.public_key_bytes(KEY), "central")])
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")

u32 = st.integers(0, 2**32 - 1)
instants = st.integers(0, 2**32 - 1).map(lambda s: datetime.fromtimestamp(s, UTC))


@st.composite
def claims(draw: st.DrawFn) -> codes.TicketClaims:
    window = draw(st.booleans())
    start, end = (draw(instants), draw(instants)) if window else (None, None)
    return codes.TicketClaims(
        ticket_id=draw(st.integers(0, 2**64 - 1)),
        event_id=draw(u32),
        tariff_id=draw(u32),
        key_id=3,
        entries_allowed=draw(st.integers(0, 255)),
        performance_id=draw(st.none() | u32),
        valid_from=start,
        valid_until=end,
    )


@given(claims())
def test_round_trip(c: codes.TicketClaims) -> None:
    text = codes.issue(c, KEY)
    assert codes.verify(text, KEYRING) == c
    assert set(text) <= QR_ALPHANUMERIC
    assert not set(text[len(codes.PREFIX) :]) & set("YZIO")  # QWERTZ-safe and unambiguous by hand
    assert len(text) <= codes.MAX_CODE_LENGTH


@given(claims(), st.data())
@settings(max_examples=300)
def test_any_single_character_change_is_refused(c: codes.TicketClaims, data: st.DataObject) -> None:
    text = codes.issue(c, KEY)
    pos = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(st.sampled_from(sorted(QR_ALPHANUMERIC - {text[pos]})))
    changed = text[:pos] + replacement + text[pos + 1 :]
    with pytest.raises(codes.CodeError):
        codes.verify(changed, KEYRING)


@given(claims(), st.integers(1, 5))
def test_truncated_or_extended_codes_are_refused(c: codes.TicketClaims, n: int) -> None:
    text = codes.issue(c, KEY)
    for bad in (text[:-n], text + "0" * n):
        with pytest.raises(codes.CodeError):
            codes.verify(bad, KEYRING)


def test_lowercase_is_the_same_code() -> None:
    # A USB scanner with caps lock on types lowercase; the code is still the same ticket.
    c = codes.TicketClaims(42, 1, 2, 3, performance_id=7)
    assert codes.verify(codes.issue(c, KEY).lower(), KEYRING) == c


def test_unknown_key_and_forgery_reasons() -> None:
    c = codes.TicketClaims(42, 1, 2, 3)
    with pytest.raises(codes.CodeError) as forged:
        codes.verify(codes.issue(c, OTHER_KEY), KEYRING)
    assert forged.value.reason == "bad_signature"
    with pytest.raises(codes.CodeError) as unknown:
        codes.verify(codes.issue(codes.TicketClaims(42, 1, 2, 9), KEY), KEYRING)
    assert unknown.value.reason == "unknown_key"
    revoked = codes.Keyring([IssuerKey(3, codes.public_key_bytes(KEY), "central", revoked=True)])
    with pytest.raises(codes.CodeError) as exc:
        codes.verify(codes.issue(c, KEY), revoked)
    assert exc.value.reason == "key_revoked"


@pytest.mark.parametrize("text", ["K1", "K1!!!!", "K1" + "0" * 400, "K1ÄÖÜ", "K1\x00\x00", "K1" + "A" * 100])
def test_malformed(text: str) -> None:
    with pytest.raises(codes.CodeError) as exc:
        codes.verify(text, KEYRING)
    assert exc.value.reason == "malformed"


def test_a_valid_signature_over_other_bytes_is_useless() -> None:
    # Signing the bare payload (without the domain string) must not produce a valid code.
    c = codes.TicketClaims(42, 1, 2, 3)
    _, signed, _ = codes.parse_unverified(codes.issue(c, KEY))
    body = signed[len(codes.DOMAIN) + 1 :]
    forged = codes.PREFIX + codes._encode(body + KEY.sign(body))
    with pytest.raises(codes.CodeError):
        codes.verify(forged, KEYRING)
