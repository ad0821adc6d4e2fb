"""A TrueType font for label previews, so zplkit draws the letters the printer's font 0 prints (â, É, ß, €).

zplkit's built-in font 0 lacks most accented capitals and many accented small letters; a preview drawn with it
showed "Th??tre ?mile" where the real Zebra prints "Théâtre Émile". The preview (never the ZPL sent to print)
downloads a DejaVu font into the renderer (`~DY`, binary: zplkit refuses ZPL over 1 MiB, hex would double it) and
draws every text field with it; only characters that font lacks still become "?". DejaVu comes from Debian's
fonts-dejavu-core / -extra (scripts/setup.sh installs them) and Kivy ships a DejaVuSans.ttf as well.
"""

from __future__ import annotations

import importlib.util
import re
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
# Closest first to font 0 (a bold condensed sans): the condensed bold is in fonts-dejavu-extra.
CANDIDATES = ("DejaVuSansCondensed-Bold.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf", "DejaVuSans.ttf")
FONT_NAME = "E:KIOSKPRV.TTF"  # where the preview's ZPL downloads it (the real printer never sees this name)
_WIDTH = 0.85  # horizontal scale: DejaVu is wider than font 0, and the layout measured for font 0 must still fit
_A0 = re.compile(rb"\^A0([NRIB]),(\d+),(\d+)")


@dataclass(frozen=True)
class PreviewFont:
    path: Path
    data: bytes
    codepoints: frozenset[int]

    def has(self, ch: str) -> bool:
        return ord(ch) in self.codepoints

    def apply(self, zpl: bytes) -> bytes:
        """`zpl` with the font downloaded first and every font 0 field drawn with it."""

        def swap(m: re.Match[bytes]) -> bytes:
            height = int(m.group(2))
            return b"^A@%s,%d,%d,%s" % (m.group(1), height, max(1, round(height * _WIDTH)), FONT_NAME.encode())

        download = b"~DY%s,B,T,%d,," % (FONT_NAME.removesuffix(".TTF").encode(), len(self.data)) + self.data
        return download + _A0.sub(swap, zpl)


def _kivy_font() -> Path | None:
    spec = importlib.util.find_spec("kivy")  # finds the package without importing Kivy into a worker
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "fonts" / "DejaVuSans.ttf"


def font_paths(folder: Path = _DEJAVU) -> list[Path]:
    found = [folder / name for name in CANDIDATES if (folder / name).is_file()]
    kivy = _kivy_font()
    return found + ([kivy] if kivy is not None and kivy.is_file() else [])


@lru_cache(maxsize=4)
def preview_font(folder: Path = _DEJAVU) -> PreviewFont | None:
    """The first usable DejaVu font (read once per process), or None: the preview then falls back to '?'."""
    for path in font_paths(folder):
        try:
            data = path.read_bytes()
            return PreviewFont(path, data, cmap_codepoints(data))
        except (OSError, ValueError, struct.error):
            continue
    return None


def cmap_codepoints(ttf: bytes) -> frozenset[int]:
    """The Unicode code points a TrueType font maps to a glyph (its `cmap`, format 4 or 12); ValueError if none."""
    (count,) = struct.unpack_from(">H", ttf, 4)
    tables = {ttf[12 + 16 * i : 16 + 16 * i]: struct.unpack_from(">II", ttf, 20 + 16 * i)[0] for i in range(count)}
    if b"cmap" not in tables:
        raise ValueError("no cmap table")
    base = tables[b"cmap"]
    (n,) = struct.unpack_from(">H", ttf, base + 2)
    subtables = {}
    for i in range(n):
        platform, encoding, offset = struct.unpack_from(">HHI", ttf, base + 4 + 8 * i)
        subtables[(platform, encoding)] = base + offset
    for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
        if key in subtables:
            at = subtables[key]
            fmt = struct.unpack_from(">H", ttf, at)[0]
            if fmt == 12:
                return _format12(ttf, at)
            if fmt == 4:
                return _format4(ttf, at)
    raise ValueError("no Unicode cmap of format 4 or 12")


def _format12(ttf: bytes, at: int) -> frozenset[int]:
    (groups,) = struct.unpack_from(">I", ttf, at + 12)
    out: set[int] = set()
    for g in range(groups):
        start, end, _glyph = struct.unpack_from(">III", ttf, at + 16 + 12 * g)
        out.update(range(start, end + 1))
    return frozenset(out)


def _format4(ttf: bytes, at: int) -> frozenset[int]:
    seg = struct.unpack_from(">H", ttf, at + 6)[0] // 2
    ends = struct.unpack_from(f">{seg}H", ttf, at + 14)
    starts = struct.unpack_from(f">{seg}H", ttf, at + 16 + 2 * seg)
    deltas = struct.unpack_from(f">{seg}h", ttf, at + 16 + 4 * seg)
    range_at = at + 16 + 6 * seg
    offsets = struct.unpack_from(f">{seg}H", ttf, range_at)
    out: set[int] = set()
    for i in range(seg):
        for c in range(starts[i], ends[i] + 1):
            if c == 0xFFFF:
                continue
            if offsets[i] == 0:
                glyph = (c + deltas[i]) & 0xFFFF
            else:
                where = range_at + 2 * i + offsets[i] + 2 * (c - starts[i])
                glyph = struct.unpack_from(">H", ttf, where)[0]
                glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            if glyph:
                out.add(c)
    return frozenset(out)
