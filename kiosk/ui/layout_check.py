"""Finds texts that do not fit their widgets on what is currently shown (used by screenshots and the UI tests)."""

from __future__ import annotations

from kivy.core.window import Window
from kivy.uix.label import Label


def _visible(widget) -> bool:
    w = widget
    while w is not None and w is not Window:
        if getattr(w, "opacity", 1) <= 0.01:
            return False
        w = w.parent
    if widget.width < 2 or widget.height < 2:
        return False
    x, y = widget.to_window(widget.x, widget.y)
    return x < Window.width and y < Window.height and x + widget.width > 0 and y + widget.height > 0


def walk(widget):
    yield widget
    for child in widget.children:
        yield from walk(child)


def visible_labels(root) -> list[Label]:
    return [w for w in walk(root) if isinstance(w, Label) and w.text and _visible(w)]


def overflows(root) -> list[str]:
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


def small_targets(root) -> list[str]:
    """Visible, enabled buttons smaller than TOUCH_MIN (~12 mm) on either side."""
    from kivy.uix.button import Button

    from kiosk.ui.widgets.common import TOUCH_MIN

    bad = []
    for w in walk(root):
        if isinstance(w, Button) and not w.disabled and _visible(w) and min(w.width, w.height) < TOUCH_MIN - 0.5:
            bad.append(f"button {w.text!r} is {w.width:.0f}x{w.height:.0f} px, under {TOUCH_MIN:.0f} px")
    return bad


def find_text(root, fragment: str) -> list[Label]:
    return [w for w in visible_labels(root) if fragment in w.text]
