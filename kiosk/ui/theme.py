"""The UI's colours (the Okabe-Ito verdict palette, panels, the exit tint) and the WCAG contrast every text meets."""

from __future__ import annotations

RGBA = tuple[float, float, float, float]

GREEN: RGBA = (0.0, 0.62, 0.45, 1)  # Okabe-Ito bluish green
AMBER: RGBA = (0.90, 0.62, 0.0, 1)  # Okabe-Ito orange
RED: RGBA = (0.84, 0.37, 0.0, 1)  # Okabe-Ito vermillion
BLUE: RGBA = (0.0, 0.45, 0.70, 1)  # Okabe-Ito blue
PANEL: RGBA = (0.14, 0.16, 0.19, 1)  # theme.kv's Panel
SCREEN: RGBA = (0.0, 0.0, 0.0, 1)  # the window's clear colour, behind everything
KEYPAD_BG: RGBA = (0.1, 0.11, 0.14, 1)
EXIT_TINT: RGBA = (0.0, 0.25, 0.42, 1)  # the door's background while exits are recorded: dark Okabe-Ito blue
BLACK: RGBA = (0.0, 0.0, 0.0, 1)
WHITE: RGBA = (1.0, 1.0, 1.0, 1)
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text; verdict words are large, but are read from two metres


def _linear(channel: float) -> float:
    return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4


def luminance(colour: RGBA) -> float:
    """WCAG 2 relative luminance of an sRGB colour (alpha ignored: every colour here is opaque)."""
    r, g, b = (_linear(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGBA, b: RGBA) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def ink_on(background: RGBA) -> RGBA:
    """The text colour for a background: black or white, whichever contrasts more (orange needs black: 2.25:1 white)."""
    return BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE
