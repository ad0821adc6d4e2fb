"""Helpers shared by the printing tests: decoding a rendered label, reading ZPL fields back."""

from __future__ import annotations

import re

import numpy as np
import zplkit
import zxingcpp

from kiosk.adapters.zpl import preview_safe

FIELD = re.compile(rb"\^FD((?:MA,)?)((?:_[0-9A-F]{2})*)\^FS")


def raster(zpl: bytes, dpi: int) -> np.ndarray:
    doc = zplkit.render(preview_safe(zpl), zplkit.Options(dpi=dpi))
    r = doc.labels[0].rasterize()
    return np.frombuffer(r.pixels, dtype=np.uint8).reshape(r.height, r.width)


def decode(img: np.ndarray) -> dict[str, str]:
    """{format name: text} of every bar code zxing-cpp finds."""
    return {res.format.name: res.text for res in zxingcpp.read_barcodes(img)}


def field_texts(zpl: bytes) -> list[str]:
    """The text of every ^FH field, hex decoded (what the printer will print or encode)."""
    out = []
    for m in FIELD.finditer(zpl):
        out.append(bytes.fromhex(m.group(2).replace(b"_", b"").decode()).decode("utf-8"))
    return out
