"""Keyboard-wedge parser: scanner bursts become scans, people typing do not."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.wedge import WedgeParser, WedgeRules, WedgeState, feed


def type_keys(parser: WedgeParser, keys: str, start: float, gap: float, enter: str = "\r") -> list[str]:
    out = []
    t = start
    for k in [*keys, enter]:
        code = parser.key(k, t)
        if code is not None:
            out.append(code)
        t += gap
    return out


def test_fast_burst_ending_in_enter_is_one_scan() -> None:
    assert type_keys(WedgeParser(), "K1ABCD2345", 10.0, 0.008) == ["K1ABCD2345"]


def test_slow_human_typing_is_ignored() -> None:
    assert type_keys(WedgeParser(), "hello world", 10.0, 0.15) == []


def test_enter_names_from_the_ui_end_a_scan() -> None:
    for enter in ("\n", "enter", "numpadenter"):
        assert type_keys(WedgeParser(), "Q9GFMR42TEQ2", 0.0, 0.005, enter) == ["Q9GFMR42TEQ2"]


def test_human_keys_before_a_burst_do_not_leak_into_the_code() -> None:
    p = WedgeParser()
    p.key("x", 0.0)
    p.key("y", 0.4)
    assert type_keys(p, "ABCDEF", 1.0, 0.01) == ["ABCDEF"]


def test_a_pause_in_the_middle_splits_and_drops_the_start() -> None:
    p = WedgeParser()
    for i, k in enumerate("ABCD"):
        p.key(k, i * 0.01)
    # 300 ms pause, then a burst: only the burst after the pause is a code
    assert type_keys(p, "WXYZ12", 0.33, 0.01) == ["WXYZ12"]


def test_slow_enter_after_a_fast_burst_is_not_a_scan() -> None:
    p = WedgeParser()
    for i, k in enumerate("ABCDEFG"):
        p.key(k, i * 0.01)
    assert p.key("\r", 1.0) is None


def test_too_short_and_too_long_bursts_are_dropped() -> None:
    assert type_keys(WedgeParser(), "AB", 0.0, 0.01) == []
    assert type_keys(WedgeParser(WedgeRules(max_length=20)), "A" * 25, 0.0, 0.002) == []
    # and the parser is clean again afterwards
    p = WedgeParser(WedgeRules(max_length=20))
    type_keys(p, "A" * 25, 0.0, 0.002)
    assert type_keys(p, "GOODCODE", 5.0, 0.002) == ["GOODCODE"]


def test_modifier_keys_inside_a_burst_are_skipped() -> None:
    p = WedgeParser()
    t = 0.0
    for k in ["shift", "K", "1", "shift", "A", "B", "C"]:
        assert p.key(k, t) is None
        t += 0.004
    assert p.key("enter", t) == "K1ABC"


def test_clock_going_backwards_does_not_join_bursts() -> None:
    p = WedgeParser()
    p.key("A", 5.0)
    p.key("B", 5.01)
    p.key("C", 1.0)  # clock reset: starts a new burst
    assert type_keys(p, "DEFG", 1.005, 0.005) == ["CDEFG"]


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWX", min_size=4, max_size=200))
def test_any_fast_code_comes_back_unchanged(code: str) -> None:
    assert type_keys(WedgeParser(), code, 100.0, 0.003) == [code]


@given(st.lists(st.tuples(st.text(min_size=1, max_size=3), st.floats(0, 1)), max_size=60))
def test_never_raises_and_never_returns_junk(events: list[tuple[str, float]]) -> None:
    state, t = WedgeState(), 0.0
    for key, dt in events:
        t += dt
        state, code = feed(state, key, t)
        if code is not None:
            assert len(code) >= 4 and code.isprintable()
