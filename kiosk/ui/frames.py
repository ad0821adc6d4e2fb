"""Know when the window shows a finished screen, and grab exactly the frame that was drawn.

A screen is *settled* when no ScreenManager runs a transition, no layout, label texture or font fit is waiting
for the next frame, and the widget tree's geometry and texts were the same on the last two drawn frames. The
picture is then read in the window's `on_flip` handler, between drawing a frame and swapping it to the screen:
`Window.screenshot()` called from a Clock callback instead reads the back buffer after the previous swap, whose
content is undefined (under Mesa it is often an older frame, e.g. the one drawn mid-transition).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.core.window import Window
from kivy.uix.screenmanager import ScreenManager

from kiosk.domain.errors import KioskError
from kiosk.ui.layout_check import stray_visible, walk

if TYPE_CHECKING:
    from kiosk.ui.scripted import Step

# Attributes holding Clock triggers that Kivy widgets (and ours) fire on the next frame to lay out or re-render.
_TRIGGERS = ("_trigger_layout", "_trigger_texture", "_pending")


def busy(root: Any) -> list[str]:
    """What is still due to change on the next frames: running transitions and pending layout/texture triggers."""
    found = []
    for w in walk(root):
        if isinstance(w, ScreenManager) and w.transition.is_active:
            found.append(f"transition in {w!r}")
        for name in _TRIGGERS:
            ev = getattr(w, name, None)
            if ev is not None and getattr(ev, "is_triggered", False):
                found.append(f"{name} of {type(w).__name__}")
    return found


def signature(root: Any) -> tuple[Any, ...]:
    """Geometry, opacity and text of every widget: equal on two frames means the layout has settled."""
    return tuple(
        (id(w), *w.pos, *w.size, w.opacity, getattr(w, "text", None), getattr(w, "font_size", None))
        for top in root.children
        for w in walk(top)
    )


class CaptureFailed(KioskError):
    reason = "capture_failed"


@dataclass
class Frame:
    """One captured frame: the PNG written and what the stray check found on that very frame."""

    path: Path
    strays: list[str] = field(default_factory=list)
    done: bool = False
    error: str = ""


class FrameWatch:
    """Counts drawn frames, tells whether the last two were identical, and captures the next drawn frame."""

    def __init__(self) -> None:
        self.frames = 0
        self.stable = 0  # drawn frames in a row with the same signature
        self._last: tuple[Any, ...] | None = None
        self._pending: list[Frame] = []
        Window.bind(on_flip=self._flipped)

    def close(self) -> None:
        Window.unbind(on_flip=self._flipped)

    def _flipped(self, window: Any) -> None:
        # Runs after on_draw and before the default handler swaps the buffers: the back buffer is this frame.
        self.frames += 1
        sig = signature(window)
        self.stable = self.stable + 1 if sig == self._last else 0
        self._last = sig
        if self._pending and self.stable == 0:
            window.canvas.ask_update()  # this frame differs from the one before: grab a later, settled one
            return
        frames, self._pending = self._pending, []
        for frame in frames:
            self._grab(window, frame)

    def _grab(self, window: Any, frame: Frame) -> None:
        # Called from the event loop: an exception here would end the app without the script's report.
        try:
            frame.strays = stray_visible(window)
            made = window.screenshot(str(frame.path.with_name(frame.path.stem + "-.png")))
            if made:
                Path(made).replace(frame.path)
            else:
                frame.error = f"no screenshot made for {frame.path.name}"
        except Exception as exc:
            frame.error = f"{frame.path}: {type(exc).__name__}: {exc}"
        frame.done = True

    def settled(self) -> bool:
        """True once nothing is pending and two drawn frames in a row were identical; asks for frames until then."""
        if busy(Window) or self.stable < 2:
            Window.canvas.ask_update()  # Kivy draws only on change; the comparison needs frames
            return False
        return True

    def capture(self, path: Path) -> Frame:
        """Capture the next drawn frame (one is requested) into `path`; poll `frame.done`."""
        frame = Frame(path)
        self._pending.append(frame)
        Window.canvas.ask_update()
        return frame


def settle_then_capture(
    watch: FrameWatch, path: Path, what: str, timeout: float = 15.0
) -> Generator[Step, None, Frame]:
    """Script steps (for `kiosk.ui.scripted.Sequencer`): wait for a settled screen, then grab one frame of it."""
    from kiosk.ui.scripted import Until

    yield Until(watch.settled, timeout, f"{what}: screen settled")
    frame = watch.capture(path)
    yield Until(_done(frame), 5, f"{what}: frame captured")
    if frame.error:
        raise CaptureFailed(frame.error)
    return frame


def _done(frame: Frame) -> Callable[[], bool]:
    return lambda: frame.done
