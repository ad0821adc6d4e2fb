"""From codes seen in each camera frame to scans: one scan per appearance of a code in the view.

A held-up ticket is in view for many frames and the decoder misses it in some (blur, a pass that cannot read it),
so a code only counts as gone after it was absent for both `leave_frames` frames and `leave_seconds`; shown
again after that, it is a new scan (which then reads already_used). Several codes in one frame are each scanned.
Time is passed in (monotonic seconds), so the rules are testable without a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class TrackerRules:
    leave_seconds: float = 0.5
    leave_frames: int = 6  # more than the decoder's passes, so a code read only by one pass stays "in view"


@dataclass(frozen=True)
class Sighting:
    last_at: float
    last_frame: int


@dataclass(frozen=True)
class TrackerState:
    frame: int = 0
    seen: Mapping[str, Sighting] = field(default_factory=lambda: MappingProxyType({}))


def observe(
    state: TrackerState, codes: Iterable[str], now: float, rules: TrackerRules = TrackerRules()
) -> tuple[TrackerState, tuple[str, ...]]:
    """Feed one frame's codes; return the new state and the codes that are new scans, in the order seen."""
    frame = state.frame + 1
    kept = {
        code: s
        for code, s in state.seen.items()
        if not (frame - s.last_frame > rules.leave_frames and now - s.last_at >= rules.leave_seconds)
    }
    new: list[str] = []
    for code in codes:
        if not code or code in new:
            continue
        if code not in kept:
            new.append(code)
        kept[code] = Sighting(now, frame)
    return TrackerState(frame, MappingProxyType(kept)), tuple(new)


class FrameTracker:
    """The same rules with the state kept for you (one per camera)."""

    def __init__(self, rules: TrackerRules = TrackerRules()) -> None:
        self.rules = rules
        self.state = TrackerState()

    def observe(self, codes: Iterable[str], now: float) -> tuple[str, ...]:
        self.state, new = observe(self.state, codes, now, self.rules)
        return new

    def in_view(self) -> frozenset[str]:
        return frozenset(self.state.seen)
