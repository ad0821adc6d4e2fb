"""Touch buttons with a minimum size and labels that shrink their font until the text fits (no overflow).

"Fits" means: the wrapped text is no taller and no wider than the widget, and no single word is wider than a line
(Kivy would otherwise break a long German word in the middle). `overflows` stays True when even the smallest
allowed font does not fit; the screenshot run and the tests read it in every language.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.metrics import mm
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty
from kivy.uix.button import Button
from kivy.uix.label import Label

# A gloved finger needs ~12 mm; on an unknown panel we also never go below 72 px.
TOUCH_MIN = max(mm(12), 72)
_MARGIN = 6


def _widest_word(label: Label) -> float:
    core = label._label
    widest = 0.0
    for line in label.text.split("\n"):
        for word in line.split():
            widest = max(widest, core.get_extents(word)[0])
    return widest


def _fits(label: Label, size: float, inner_w: float, inner_h: float) -> bool:
    label.font_size = size
    label.texture_update()
    tw, th = label.texture_size
    return tw <= inner_w + 0.5 and th <= inner_h + 0.5 and _widest_word(label) <= inner_w + 0.5


def fit_font(label: Label) -> None:
    """Largest font ≤ base_font (and ≥ min_font) at which the label's text fits; sets `overflows`.

    Wrapped text grows in height with the square of the font size, so the first retry jumps to the size that
    should fit and only then steps down: two or three renders instead of a dozen on the UI thread.
    """
    if label.width <= 1 or label.height <= 1:
        return
    inner_w = max(label.width - 2 * _MARGIN, 1)
    inner_h = max(label.height - 2, 1)
    label.text_size = (inner_w, None)
    size = float(label.base_font)
    fits = _fits(label, size, inner_w, inner_h)
    if not fits:
        th = label.texture_size[1]
        ratio = min(inner_h / max(th, 1), 1.0) ** 0.5
        ratio = min(ratio, inner_w / max(_widest_word(label), 1))
        size = max(label.min_font, min(size * 0.97, size * ratio))
        fits = _fits(label, size, inner_w, inner_h)
        while not fits and size > label.min_font:
            size = max(label.min_font, size * 0.92)
            fits = _fits(label, size, inner_w, inner_h)
    label.overflows = not fits
    label.text_size = (inner_w, label.height)


class FitLabel(Label):  # type: ignore[misc]  # Kivy has no type stubs
    """A label that wraps inside its box and lowers its font size (down to `min_font`) until the text fits."""

    base_font = NumericProperty(28)
    min_font = NumericProperty(12)
    overflows = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending: object | None = None
        self.bind(size=self._refit, text=self._refit, base_font=self._refit, bold=self._refit)
        self._refit()

    def _refit(self, *_: object) -> None:
        if self._pending is None:
            self._pending = Clock.schedule_once(self._fit, 0)

    def _fit(self, *_: object) -> None:
        self._pending = None
        fit_font(self)


class TouchButton(Button):  # type: ignore[misc]  # Kivy has no type stubs
    """A button at least TOUCH_MIN on both sides, whose caption shrinks to fit like FitLabel."""

    base_font = NumericProperty(26)
    min_font = NumericProperty(12)
    overflows = BooleanProperty(False)
    tone = ColorProperty((0.22, 0.25, 0.3, 1))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.background_normal = ""
        self.background_down = ""
        self.background_disabled_normal = ""
        self.halign = "center"
        self.valign = "middle"
        self._pending: object | None = None
        self.bind(size=self._refit, text=self._refit, base_font=self._refit, tone=self._tone, disabled=self._tone)
        self._tone()
        self._refit()

    def _tone(self, *_: object) -> None:
        r, g, b, a = self.tone
        self.background_color = (r, g, b, a * (0.35 if self.disabled else 1))

    def _refit(self, *_: object) -> None:
        if self._pending is None:
            self._pending = Clock.schedule_once(self._fit, 0)

    def _fit(self, *_: object) -> None:
        self._pending = None
        fit_font(self)
