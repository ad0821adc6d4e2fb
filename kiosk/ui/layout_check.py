"""Checks on what is currently shown (used by screenshots and the UI tests): texts that do not fit their widgets,
touch targets that are too small, and widgets of a screen or sale step that is not current but still drawn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.screenmanager import ScreenManager


def _on_window(widget: Any) -> bool:
    """True when the widget has a size and its box overlaps the window."""
    if widget.width < 2 or widget.height < 2:
        return False
    x, y = widget.to_window(widget.x, widget.y)
    return bool(x < Window.width and y < Window.height and x + widget.width > 0 and y + widget.height > 0)


def _visible(widget: Any) -> bool:
    w = widget
    while w is not None and w is not Window:
        if getattr(w, "opacity", 1) <= 0.01:
            return False
        w = w.parent
    return _on_window(widget)


def walk(widget: Any) -> Iterator[Any]:
    yield widget
    for child in widget.children:
        yield from walk(child)


def visible_labels(root: Any) -> list[Label]:
    return [w for w in walk(root) if isinstance(w, Label) and w.text and _visible(w)]


def stray_visible(root: Any) -> list[str]:
    """Widgets drawn on screen that belong to a screen (or sale step) that is not its manager's current one.

    A ScreenManager keeps the outgoing screen as a child while a transition runs, and for that time both are
    drawn; a picture or a test that looks then sees two steps at once. Disabled widgets count: they are drawn.
    """
    found: list[str] = []
    for manager in walk(root):
        if not isinstance(manager, ScreenManager):
            continue
        current = manager.current_screen
        for screen in manager.children:
            if screen is current:
                continue
            shown = [w for w in walk(screen) if _visible(w)]
            if shown:
                words = [w.text for w in shown if isinstance(w, Label) and w.text][:3]
                found.append(f"screen {screen.name!r} (current {manager.current!r}): {len(shown)} widgets {words}")
    return found


def overflows(root: Any) -> list[str]:
    """'text' (widget size, texture size) for every visible label whose text does not fit."""
    bad = []
    for label in visible_labels(root):
        if hasattr(label, "overflows"):
            if label.overflows:
                bad.append(f"{label.text!r} in {label.width:.0f}x{label.height:.0f} at font {label.font_size:.0f}")
        else:
            label.texture_update()
            tw, th = label.texture_size
            if tw > label.width + 1 or th > label.height + 1:
                bad.append(f"{label.text!r} in {label.width:.0f}x{label.height:.0f} (plain label)")
    return bad


def small_targets(root: Any) -> list[str]:
    """Visible, enabled buttons smaller than TOUCH_MIN (~12 mm) on either side."""
    from kivy.uix.button import Button

    from kiosk.ui.widgets.common import TOUCH_MIN

    bad = []
    for w in walk(root):
        if isinstance(w, Button) and not w.disabled and _visible(w) and min(w.width, w.height) < TOUCH_MIN - 0.5:
            bad.append(f"button {w.text!r} is {w.width:.0f}x{w.height:.0f} px, under {TOUCH_MIN:.0f} px")
    return bad


def find_text(root: Any, fragment: str) -> list[Label]:
    return [w for w in visible_labels(root) if fragment in w.text]
