"""Drive a running app from a generator (screenshots, UI tests, the UI bench) without blocking the Kivy thread.

The generator yields a number (wait that many seconds) or a `Until(predicate, timeout)` (poll until true). An
exception inside the script, or a timeout, stops the app and is kept in `error`.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from kivy.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class Until:
    predicate: Callable[[], bool]
    timeout: float = 10.0
    what: str = ""


# What a script yields: wait until a condition holds, or wait that many seconds (None or 0: the next frame).
Step = Until | float | None
Script = Iterator[Step]


class Stoppable(Protocol):
    """The app, as the sequencer sees it: stopped when the script ends or fails."""

    def stop(self) -> None: ...


class Sequencer:
    def __init__(self, app: Stoppable, script: Script) -> None:
        self.app = app
        self.script = script
        self.error = ""
        self._waiting: Until | None = None
        self._deadline = 0.0

    def start(self, delay: float = 0.0) -> None:
        Clock.schedule_once(self._step, delay)

    def _fail(self, text: str) -> None:
        self.error = text
        log.error("script failed: %s", text)
        self.app.stop()

    def _step(self, _dt: float = 0) -> None:
        if self._waiting is not None:
            try:
                ok = self._waiting.predicate()
            except Exception:
                self._fail(traceback.format_exc())
                return
            if not ok:
                if time.monotonic() > self._deadline:
                    self._fail(f"timed out waiting for {self._waiting.what or self._waiting.predicate}")
                    return
                Clock.schedule_once(self._step, 0.05)
                return
            self._waiting = None
        try:
            item = next(self.script)
        except StopIteration:
            self.app.stop()
            return
        except Exception:
            self._fail(traceback.format_exc())
            return
        if isinstance(item, Until):
            self._waiting = item
            self._deadline = time.monotonic() + item.timeout
            Clock.schedule_once(self._step, 0.05)
        else:
            Clock.schedule_once(self._step, float(item or 0))


def tap(widget: Any) -> None:
    """A real touch (down + up) at the widget's centre, through the window's input dispatch."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    touch.touch_up()
