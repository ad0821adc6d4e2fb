"""USB handheld scanners in keyboard-wedge mode: fast keystroke bursts ending in Enter are scans.

A scanner "types" a code in a few milliseconds per character and ends it with Enter; a person types tens to
hundreds of milliseconds per key. A burst is kept only while every gap (Enter included) stays under `max_gap`;
a slower key starts a new burst, and an Enter that ends a slow or too short run is human typing and is ignored.
Keys and their times (seconds, monotonic) are passed in: the UI maps its key events to text and Enter.
"""

from __future__ import annotations

from dataclasses import dataclass

ENTER_KEYS = frozenset({"\r", "\n", "enter", "numpadenter", "return"})


@dataclass(frozen=True)
class WedgeRules:
    max_gap: float = 0.05  # seconds between keys of one scan; scanners send 2-20 ms, people 80 ms and more
    min_length: int = 4  # shorter bursts are a person's quick double tap, not a code
    max_length: int = 512  # longer than any code we accept (kiosk.domain.scan_input.MAX_CODE_CHARS)


@dataclass(frozen=True)
class WedgeState:
    chars: str = ""
    last_at: float | None = None
    overflow: bool = False


def feed(state: WedgeState, key: str, at: float, rules: WedgeRules = WedgeRules()) -> tuple[WedgeState, str | None]:
    """Feed one key press; return the new state and a scanned code when this key completed one."""
    fast = state.last_at is not None and 0 <= at - state.last_at <= rules.max_gap
    if key in ENTER_KEYS:
        done = fast and not state.overflow and len(state.chars) >= rules.min_length
        return WedgeState(), state.chars if done else None
    if len(key) != 1 or not key.isprintable():
        return state, None  # shift, ctrl, arrows: not part of a code, and they do not end a burst
    chars = state.chars + key if fast else key
    overflow = (state.overflow and fast) or len(chars) > rules.max_length
    return WedgeState(chars[: rules.max_length], at, overflow), None


class WedgeParser:
    """The same rules with the state kept for you (one per keyboard)."""

    def __init__(self, rules: WedgeRules = WedgeRules()) -> None:
        self.rules = rules
        self.state = WedgeState()

    def key(self, key: str, at: float) -> str | None:
        self.state, code = feed(self.state, key, at, self.rules)
        return code
