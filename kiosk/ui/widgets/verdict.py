"""The full-screen verdict: colour + a distinct shape + words, readable from two metres."""

from __future__ import annotations

import math
from typing import Any

from kivy.graphics import Color, Ellipse, Line, Mesh, Rectangle
from kivy.properties import ColorProperty, StringProperty
from kivy.uix.widget import Widget


def _polygon(cx: float, cy: float, r: float, sides: int, start_deg: float) -> list[float]:
    pts: list[float] = []
    for i in range(sides):
        a = math.radians(start_deg + 360 * i / sides)
        pts += [cx + r * math.cos(a), cy + r * math.sin(a)]
    return pts


def _fan(points: list[float], cx: float, cy: float) -> tuple[list[float], list[int]]:
    vertices = [cx, cy, 0, 0]
    for i in range(0, len(points), 2):
        vertices += [points[i], points[i + 1], 0, 0]
    n = len(points) // 2
    indices = [*range(n + 1), 1]
    return vertices, indices


class VerdictShape(Widget):  # type: ignore[misc]  # Kivy has no type stubs
    """Ink symbol on the verdict colour: circle+tick (ok), triangle+! (warn), octagon+X (stop), arrow (exit)."""

    shape = StringProperty("circle_check")
    colour = ColorProperty((0, 0.62, 0.45, 1))
    ink = ColorProperty((1, 1, 1, 1))  # the verdict's text colour (kiosk.ui.theme.ink_on): black on orange

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw, shape=self._draw, colour=self._draw, ink=self._draw)

    def _draw(self, *_: object) -> None:
        self.canvas.clear()
        cx, cy = self.center
        r = min(self.width, self.height) / 2 * 0.95
        w = max(r * 0.16, 4)
        with self.canvas:
            Color(*self.ink)
            if self.shape == "circle_check":
                Ellipse(pos=(cx - r, cy - r), size=(2 * r, 2 * r))
                Color(*self.colour)
                Line(points=[cx - r * 0.5, cy, cx - r * 0.12, cy - r * 0.4, cx + r * 0.55, cy + r * 0.45], width=w)
            elif self.shape == "triangle_bang":
                pts = _polygon(cx, cy - r * 0.1, r * 1.05, 3, 90)
                vertices, indices = _fan(pts, cx, cy - r * 0.1)
                Mesh(vertices=vertices, indices=indices, mode="triangle_fan")
                Color(*self.colour)
                # Bar and dot stay inside the triangle, whose base is at cy - 0.625 r (the dot used to cut it).
                Line(points=[cx, cy + r * 0.30, cx, cy - r * 0.12], width=w)
                dot = w * 0.8
                Ellipse(pos=(cx - dot, cy - r * 0.43 - dot), size=(2 * dot, 2 * dot))
            elif self.shape == "octagon_cross":
                pts = _polygon(cx, cy, r, 8, 22.5)
                vertices, indices = _fan(pts, cx, cy)
                Mesh(vertices=vertices, indices=indices, mode="triangle_fan")
                Color(*self.colour)
                d = r * 0.42
                Line(points=[cx - d, cy - d, cx + d, cy + d], width=w)
                Line(points=[cx - d, cy + d, cx + d, cy - d], width=w)
            else:  # arrow_out: an exit
                Rectangle(pos=(cx - r * 0.8, cy - r * 0.2), size=(r * 1.0, r * 0.4))
                pts = [cx + r * 0.2, cy + r * 0.6, cx + r * 0.9, cy, cx + r * 0.2, cy - r * 0.6]
                vertices, indices = _fan(pts, cx + r * 0.4, cy)
                Mesh(vertices=vertices, indices=indices[:-1], mode="triangle_fan")
