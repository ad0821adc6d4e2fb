"""Barcode decoding: zxing-cpp and zbar (pyzbar) behind one interface, and the cascade we chose after measuring.

Why the cascade (figures in docs/scanner.md and bench/RESULTS.md): zxing-cpp reads more of the real photos than
zbar and is faster, and it alone reads PDF417, Aztec, DataMatrix and dark-mode (inverted) screens. zbar still reads
a few damaged QR codes that zxing-cpp gives up on, so it is the last pass. A full-resolution zxing-cpp pass with
every option on costs ~25 ms on a noisy 720p frame, over the 15 ms budget, so a camera frame gets the cheap passes
first and a per-frame time budget; the passes it had no time for run on the next frames (a ticket stays in view for
many frames). A still image (`kiosk decode`) runs every pass until one reads something.

zbar is called through pyzbar's ctypes wrapper with our own symbol loop: pyzbar 0.1.9 converts each symbol's
orientation to an enum, and libzbar returns UINT_MAX for an unknown orientation, so `pyzbar.decode` raises
``ValueError: 4294967295 is not a valid ZBarOrientation`` and loses every code in the frame (pyzbar issue #139).
We never ask for the orientation.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from kiosk.domain.errors import KioskError

Frame = npt.NDArray[np.uint8]
Corners = tuple[tuple[int, int], ...]

# Ticket symbologies in the wild (issue #3); anything else is noise at a door.
TICKET_FORMATS = ("qr_code", "code_128", "ean_13", "ean_8", "pdf417", "aztec", "data_matrix")
MAX_SIDE = 8192  # larger than any camera we support; a bigger "frame" is a bug or an attack, not a picture


class FrameError(KioskError, ValueError):
    """A frame that cannot be decoded at all (wrong type, shape or size); the message says what is wrong."""

    reason = "bad_frame"


@dataclass(frozen=True)
class DecodedCode:
    """One code read in a frame. `corners` are pixel positions in the frame given to the decoder."""

    format: str
    text: str
    corners: Corners = ()
    engine: str = ""


class Decoder(Protocol):
    """Anything that turns a frame into the codes it shows."""

    def decode(self, frame: Frame) -> list[DecodedCode]: ...


def to_gray(frame: Any) -> Frame:
    """Validate a frame and return it as 8-bit grayscale; raise FrameError with a clear reason otherwise."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"frame is {type(frame).__name__}, not an image array")
    if frame.dtype != np.uint8:
        raise FrameError(f"frame has pixel type {frame.dtype}, expected uint8")
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (1, 3, 4)):
        raise FrameError(f"frame has shape {frame.shape}, expected HxW, HxWx3 or HxWx4")
    h, w = frame.shape[:2]
    if h < 1 or w < 1 or h > MAX_SIDE or w > MAX_SIDE:  # one row is fine: a line-scan image of a barcode
        raise FrameError(f"frame size {w}x{h} is outside 1..{MAX_SIDE} pixels")
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 1:
        return frame[:, :, 0]
    code = cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
    return np.asarray(cv2.cvtColor(frame, code), dtype=np.uint8)


# --- zxing-cpp -------------------------------------------------------------------------------------------------

_ZX_READ = ("QRCode", "Code128", "EAN13", "EAN8", "UPCA", "PDF417", "Aztec", "DataMatrix")
_ZX_NAMES = {
    "QRCode": "qr_code",
    "MicroQRCode": "qr_code",
    "Code128": "code_128",
    "EAN13": "ean_13",
    "EAN8": "ean_8",
    "UPCA": "upc_a",
    "UPCE": "upc_e",
    "PDF417": "pdf417",
    "CompactPDF417": "pdf417",
    "Aztec": "aztec",
    "AztecCode": "aztec",
    "DataMatrix": "data_matrix",
    "Code39": "code_39",
    "ITF": "itf",
}


@dataclass
class ZxingDecoder:
    """zxing-cpp with our options; `scale` < 1 decodes a downscaled copy and maps corners back."""

    scale: float = 1.0
    scale_above: int = 0  # apply `scale` only to frames at least this wide/tall (a small frame has no pixel to spare)
    invert: bool = False
    try_rotate: bool = True
    try_invert: bool = True
    try_downscale: bool = True
    formats: Sequence[str] = TICKET_FORMATS
    name: str = "zxing"
    _formats: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        import zxingcpp

        wanted = [k for k in _ZX_READ if _ZX_NAMES[k] in self.formats]
        self._formats = [getattr(zxingcpp.BarcodeFormat, k) for k in wanted]
        self._zx = zxingcpp

    def decode(self, frame: Frame) -> list[DecodedCode]:
        gray = to_gray(frame)
        scale = self.scale if max(gray.shape) >= self.scale_above else 1.0
        small = _resize(gray, scale, self.invert)
        found = self._zx.read_barcodes(
            small,
            formats=self._formats,
            try_rotate=self.try_rotate,
            try_downscale=self.try_downscale,
            try_invert=self.try_invert,
            text_mode=self._zx.TextMode.Plain,
        )
        back = 1.0 / scale
        out = []
        for b in found:
            p = b.position
            corners = tuple(
                (round(pt.x * back), round(pt.y * back))
                for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            )
            out.append(DecodedCode(_ZX_NAMES.get(b.format.name, b.format.name.lower()), b.text, corners, self.name))
        return out


def _resize(gray: Frame, scale: float, invert: bool = False) -> Frame:
    out = gray
    if scale < 1.0:
        h, w = gray.shape
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        out = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.asarray(cv2.bitwise_not(out), dtype=np.uint8) if invert else out


# --- zbar (pyzbar's ctypes wrapper, issue #139 workaround) -------------------------------------------------------

_ZBAR_NAMES = {"QRCODE": "qr_code", "CODE128": "code_128", "EAN13": "ean_13", "EAN8": "ean_8", "UPCA": "upc_a"}


@dataclass
class ZbarDecoder:
    """zbar through pyzbar.wrapper; reads QR, Code 128 and EAN (zbar has no Aztec/DataMatrix, weak PDF417)."""

    scale: float = 1.0
    invert: bool = False
    formats: Sequence[str] = TICKET_FORMATS
    name: str = "zbar"

    def __post_init__(self) -> None:
        from pyzbar import wrapper  # loads libzbar; ImportError with a clear message when it is missing

        self._w = wrapper
        self._enable = [s for s in wrapper.ZBarSymbol if _ZBAR_NAMES.get(s.name) in self.formats]

    def decode(self, frame: Frame) -> list[DecodedCode]:
        gray = np.ascontiguousarray(_resize(to_gray(frame), self.scale, self.invert))
        w = self._w
        h, width = gray.shape
        back = 1.0 / self.scale
        scanner = w.zbar_image_scanner_create()
        image = w.zbar_image_create()
        try:
            w.zbar_image_scanner_set_config(scanner, 0, w.ZBarConfig.CFG_ENABLE, 0)  # 0 = every symbology
            for sym in self._enable:
                w.zbar_image_scanner_set_config(scanner, sym, w.ZBarConfig.CFG_ENABLE, 1)
            w.zbar_image_set_format(image, _fourcc("Y800"))
            w.zbar_image_set_size(image, width, h)
            # `gray` is contiguous and outlives the scan, so zbar may read its buffer in place.
            w.zbar_image_set_data(image, gray.ctypes.data, gray.nbytes, None)
            if w.zbar_scan_image(scanner, image) < 0:
                raise FrameError("zbar refused the frame")
            return list(self._symbols(image, back))
        finally:
            w.zbar_image_destroy(image)
            w.zbar_image_scanner_destroy(scanner)

    def _symbols(self, image: Any, back: float) -> Any:
        w = self._w
        sym = w.zbar_image_first_symbol(image)
        while sym:
            raw = ctypes.string_at(w.zbar_symbol_get_data(sym), w.zbar_symbol_get_data_length(sym))
            kind = _zbar_name(w, sym.contents.type)
            pts = tuple(
                (round(w.zbar_symbol_get_loc_x(sym, i) * back), round(w.zbar_symbol_get_loc_y(sym, i) * back))
                for i in range(w.zbar_symbol_get_loc_size(sym))
            )
            yield DecodedCode(kind, raw.decode("utf-8", errors="replace"), pts, self.name)
            sym = w.zbar_symbol_next(sym)


def _zbar_name(w: Any, value: int) -> str:
    try:
        name = str(w.ZBarSymbol(value).name)
    except ValueError:  # a symbology newer than pyzbar's enum: keep the code, name it plainly
        return f"zbar_{value}"
    return _ZBAR_NAMES.get(name, name.lower())


def _fourcc(code: str) -> int:
    a, b, c, d = (ord(ch) for ch in code)
    return a | (b << 8) | (c << 16) | (d << 24)


# --- the cascade -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    name: str
    decoder: Decoder


def camera_passes() -> list[Pass]:
    """Pass 0 runs on every frame; the others take turns, one per frame (order measured, see docs/scanner.md)."""
    passes = [
        Pass("zxing-half", ZxingDecoder(scale=0.5, scale_above=1000, try_downscale=False, name="zxing-half")),
        # Full size for small and far codes; no 90° turn here (it doubles the cost; the half pass turns, and
        # matrix codes read at any angle anyway), and the inverted copy for light-on-dark linear codes.
        Pass("zxing", ZxingDecoder(try_downscale=False, try_rotate=False)),
        Pass(
            "zxing-inverted",
            ZxingDecoder(invert=True, try_invert=False, try_downscale=False, try_rotate=False, name="zxing-inv"),
        ),
    ]
    return passes + _zbar_passes(("zbar-half", {"scale": 0.5, "name": "zbar-half"}))


def still_passes() -> list[Pass]:
    """Every pass, best first, for a single image where time matters less than reading it."""
    passes = [
        Pass("zxing", ZxingDecoder()),
        Pass("zxing-inverted", ZxingDecoder(invert=True, try_invert=False, name="zxing-inv")),
    ]
    return passes + _zbar_passes(("zbar", {}), ("zbar-inverted", {"invert": True, "name": "zbar-inv"}))


def _zbar_passes(*specs: tuple[str, dict[str, Any]]) -> list[Pass]:
    try:
        return [Pass(name, ZbarDecoder(**kw)) for name, kw in specs]
    except ImportError:  # no libzbar on this machine: zxing-cpp alone still reads every ticket symbology
        return []


class CascadeDecoder:
    """Runs passes in order until one reads something.

    `rotate=False` (still images): every pass, in order, until one reads something. `rotate=True` (camera):
    pass 0 on every frame, then one of the other passes in turn, so a frame costs at most two passes while every
    pass keeps seeing the scene; a ticket stays in view for many frames.
    """

    def __init__(self, passes: Sequence[Pass], *, rotate: bool = False) -> None:
        if not passes:
            raise ValueError("a cascade needs at least one pass")
        self.passes = list(passes)
        self.rotate = rotate
        self._turn = 0
        self._lock = threading.Lock()
        self.last_passes: list[str] = []

    def decode(self, frame: Frame) -> list[DecodedCode]:
        gray = to_gray(frame)
        with self._lock:
            if not self.rotate or len(self.passes) == 1:
                order = self.passes
            else:
                rest = self.passes[1:]
                order = [self.passes[0], rest[self._turn % len(rest)]]
                self._turn += 1
            self.last_passes = []
            for p in order:
                self.last_passes.append(p.name)
                found = p.decoder.decode(gray)
                if found:
                    return _dedupe(found)
            return []


def _dedupe(codes: list[DecodedCode]) -> list[DecodedCode]:
    seen: set[tuple[str, str]] = set()
    out = []
    for c in codes:
        if (c.format, c.text) not in seen:
            seen.add((c.format, c.text))
            out.append(c)
    return out


def camera_decoder() -> CascadeDecoder:
    """The decoder for live camera frames: at most two passes per frame."""
    return CascadeDecoder(camera_passes(), rotate=True)


def still_decoder() -> CascadeDecoder:
    """The decoder for single images (CLI, photos): every pass until one reads something."""
    return CascadeDecoder(still_passes())


class FakeDecoder:
    """Test twin: returns what a frame's marker pixel says, or a scripted list per call; can raise on demand."""

    def __init__(self, script: Sequence[Sequence[str] | Exception] = (), fmt: str = "qr_code") -> None:
        self._script = list(script)
        self._fmt = fmt
        self.calls = 0

    def decode(self, frame: Frame) -> list[DecodedCode]:
        to_gray(frame)
        self.calls += 1
        if not self._script:
            return []
        step = self._script.pop(0)
        if isinstance(step, Exception):
            raise step
        return [DecodedCode(self._fmt, text, (), "fake") for text in step]
