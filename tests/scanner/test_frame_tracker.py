"""Frame tracker: codes per frame → scans (one per appearance)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain.frame_tracker import FrameTracker, TrackerRules

FPS = 30.0


def run(frames: list[list[str]], rules: TrackerRules | None = None) -> list[tuple[int, str]]:
    tracker = FrameTracker(rules or TrackerRules())
    out = []
    for i, codes in enumerate(frames):
        out += [(i, c) for c in tracker.observe(codes, i / FPS)]
    return out


def test_same_code_in_consecutive_frames_is_one_scan() -> None:
    assert run([["A"]] * 90) == [(0, "A")]


def test_code_missed_in_a_few_frames_is_still_one_scan() -> None:
    frames = [["A"], [], [], ["A"], [], [], [], [], ["A"], ["A"]] * 5
    assert run(frames) == [(0, "A")]


def test_code_shown_again_after_leaving_is_a_new_scan() -> None:
    frames = [["A"]] * 10 + [[]] * 20 + [["A"]] * 5
    assert run(frames) == [(0, "A"), (30, "A")]


def test_short_absence_in_frames_but_long_in_time_is_not_leaving() -> None:
    # a slow camera (2 fps): three frames without the code is 1.5 s but fewer than leave_frames
    tracker = FrameTracker()
    assert tracker.observe(["A"], 0.0) == ("A",)
    for k in range(1, 4):
        assert tracker.observe([], k * 0.5) == ()
    assert tracker.observe(["A"], 2.0) == ()


def test_several_codes_in_one_frame_are_each_scanned_once() -> None:
    frames = [["A", "B"], ["B", "A"], ["A", "B", "C"], ["C"]]
    assert run(frames) == [(0, "A"), (0, "B"), (2, "C")]


def test_duplicates_and_empty_texts_in_a_frame() -> None:
    assert run([["A", "A", ""]]) == [(0, "A")]


def test_in_view_forgets_codes_that_left() -> None:
    tracker = FrameTracker()
    tracker.observe(["A"], 0.0)
    assert tracker.in_view() == {"A"}
    for i in range(1, 20):
        tracker.observe([], i / FPS)
    assert tracker.in_view() == frozenset()


@given(st.lists(st.lists(st.sampled_from("ABC"), max_size=3), max_size=80))
def test_a_code_is_never_scanned_twice_while_continuously_in_view(frames: list[list[str]]) -> None:
    scans = run(frames)
    for i, code in scans:
        # the frame before a new scan of `code` cannot have shown it
        assert i == 0 or code not in frames[i - 1]
    assert len(scans) <= sum(len(set(f)) for f in frames)
