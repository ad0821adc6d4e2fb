"""A tiny app with a red screen and a blue one: switches to blue and captures it the way `kiosk screenshots` does.

    python -m tests.ui.capture_probe MODE OUT_DIR      MODE: slide (a 1.5 s slide) or slow (every frame 0.5 s)

Writes OUT_DIR/result.json: what the stray check found right after the switch and on the captured frame; the
picture is OUT_DIR/two.png (the test counts its red pixels: any is a bit of the screen that is not current).
Screen two covers only the right half of the window, as real steps leave gaps between their rows.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.ui.launch import prepare_kivy

prepare_kivy()

from kivy.app import App  # noqa: E402
from kivy.clock import Clock  # noqa: E402
from kivy.core.window import Window  # noqa: E402
from kivy.graphics import Color, Rectangle  # noqa: E402
from kivy.uix.label import Label  # noqa: E402
from kivy.uix.screenmanager import NoTransition, Screen, ScreenManager, SlideTransition  # noqa: E402

from kiosk.ui.frames import FrameWatch, settle_then_capture  # noqa: E402
from kiosk.ui.layout_check import stray_visible  # noqa: E402
from kiosk.ui.scripted import Sequencer, Until  # noqa: E402

COLOURS = {"one": (1.0, 0.0, 0.0, 1.0), "two": (0.0, 0.0, 1.0, 1.0)}


class Painted(Label):
    """A full-size label on a plain colour, so the picture tells which screen was drawn."""

    def __init__(self, colour: tuple[float, float, float, float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        with self.canvas.before:
            Color(*colour)
            self._rect = Rectangle(pos=self.pos, size=self.size)
        self.bind(pos=self._moved, size=self._moved)

    def _moved(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size


def script(app: ProbeApp, out: Path, result: dict[str, Any]) -> Iterator[Any]:
    watch = FrameWatch()
    yield Until(watch.settled, 20, "screen one settled")
    app.root.current = "two"
    result["mid"] = stray_visible(Window)  # the outgoing screen is still a child, and drawn, while it leaves
    frame = yield from settle_then_capture(watch, out / "two.png", "screen two", timeout=30)
    result["captured"] = frame.strays
    result["error"] = frame.error


class ProbeApp(App):
    def __init__(self, mode: str, out: Path) -> None:
        super().__init__()
        self.mode, self.out = mode, out
        self.result: dict[str, Any] = {}

    def build(self) -> ScreenManager:
        transition = SlideTransition(duration=1.5) if self.mode == "slide" else NoTransition()
        manager = ScreenManager(transition=transition)
        for name, colour in COLOURS.items():
            screen = Screen(name=name)
            # Screen two paints its right half only, like a real step whose rows leave gaps: what shows through
            # on the left is whatever else is still drawn.
            half = {"size_hint": (0.5, 1), "pos_hint": {"right": 1}} if name == "two" else {}
            screen.add_widget(Painted(colour, text=f"screen {name}", font_size=60, **half))
            manager.add_widget(screen)
        return manager

    def on_start(self) -> None:
        if self.mode == "slow":
            # A loaded machine (software GL, busy cores): every frame takes half a second. Not a wait for anything.
            Clock.schedule_interval(lambda _dt: time.sleep(0.5), 0)
        self.seq = Sequencer(self, script(self, self.out, self.result))
        self.seq.start(0)


def main() -> int:
    mode, out = sys.argv[1], Path(sys.argv[2])
    app = ProbeApp(mode, out)
    app.run()
    app.result["script_error"] = app.seq.error
    (out / "result.json").write_text(json.dumps(app.result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
