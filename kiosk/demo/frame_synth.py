"""Generated camera frames and videos of tickets (paper and phone screens) for the demo, the tests and the benches.

We draw our own scenes with OpenCV because no maintained library makes "a barcode held up to a door camera":
the symbols themselves come from segno (QR) and zxing-cpp's writer (everything else), and are then put on a
paper ticket or a phone screen, warped in perspective into a foyer-like background, blurred, given glare, low
contrast, sensor noise and MJPG compression, at 720p or 1080p.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]

_ZX_WRITE = {
    "code_128": "Code128",
    "ean_13": "EAN13",
    "ean_8": "EAN8",
    "pdf417": "PDF417",
    "aztec": "Aztec",
    "data_matrix": "DataMatrix",
}


@dataclass(frozen=True)
class TicketScene:
    """One frame's worth of ticket in view. Sizes are fractions of the frame so a scene works at any resolution."""

    text: str
    fmt: str = "qr_code"
    medium: str = "paper"  # "paper" or "phone"
    dark_mode: bool = False  # light modules on a dark screen (phone dark mode): an inverted code
    size: tuple[int, int] = (1280, 720)
    code_height: float = 0.4  # how much of the frame height the symbol spans
    center: tuple[float, float] = (0.5, 0.5)
    rotation: float = 0.0  # degrees, in the image plane
    tilt: float = 0.0  # 0..0.35: how far the top edge recedes (perspective)
    blur: float = 0.0  # Gaussian sigma in pixels (focus, motion)
    glare: float = 0.0  # 0..1: a bright reflection across the code
    contrast: float = 1.0  # 1 = full, 0.25 = a dim screen in a bright foyer
    noise: float = 3.0  # sensor noise sigma
    jpeg_quality: int = 85  # MJPG cameras compress every frame; 0 = no compression
    seed: int = 0


@lru_cache(maxsize=64)
def code_matrix(text: str, fmt: str = "qr_code") -> Frame:
    """The symbol at one pixel per module, black on white, with its quiet zone (read-only, cached)."""
    img = _code_matrix(text, fmt)
    img.setflags(write=False)
    return img


def _code_matrix(text: str, fmt: str) -> Frame:
    if fmt == "qr_code":
        import segno

        qr = segno.make_qr(text, error="m")
        rows = [[0 if dark else 255 for dark in row] for row in qr.matrix_iter(scale=1, border=4)]
        return np.array(rows, dtype=np.uint8)
    if fmt not in _ZX_WRITE:
        raise ValueError(f"cannot draw format {fmt!r}; known: qr_code, {', '.join(_ZX_WRITE)}")
    import zxingcpp

    barcode = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, _ZX_WRITE[fmt]))
    img = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=True), dtype=np.uint8)
    if img.shape[0] < 8:  # a linear symbol is one row: give it bars a camera can see
        img = np.repeat(img, max(8, img.shape[1] // 4), axis=0)
        img = np.pad(img, ((6, 6), (0, 0)), constant_values=255)
    return img


def background(size: tuple[int, int], seed: int = 0) -> Frame:
    """A foyer-ish scene with no code in it: gradients, a few objects, signage text."""
    return _background(size, seed).copy()


@lru_cache(maxsize=8)
def _background(size: tuple[int, int], seed: int) -> Frame:
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 70 + 60 * (xx / w) + 40 * np.sin(yy / h * math.pi)
    img = np.stack([base * 0.9, base, base * 1.1], axis=2).clip(0, 255).astype(np.uint8)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(w // 20, w // 4)), y0 + int(rng.integers(h // 20, h // 3))
        color = tuple(int(c) for c in rng.integers(20, 200, 3))
        cv2.rectangle(img, (x0, y0), (x1, y1), color, -1)
    scale = h / 720
    cv2.putText(img, "ENTREE / EINGANG", (int(40 * scale), int(90 * scale)), 0, 1.6 * scale, (230, 230, 230), 3)
    cv2.putText(img, "Porte 2 - 19:00", (int(40 * scale), h - int(40 * scale)), 0, 1.0 * scale, (20, 20, 20), 2)
    return img


def _card(scene: TicketScene, symbol: Frame, module_px: int) -> tuple[Frame, npt.NDArray[np.float32]]:
    """The ticket or phone, face-on; returns it and the corners of the symbol in it."""
    sym = cv2.resize(symbol, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    sh, sw = sym.shape
    if scene.medium == "phone":
        pad_x, pad_top, pad_bottom, bezel = sw // 6, sh // 2, sh // 2, max(6, sw // 25)
        screen_bg = 18 if scene.dark_mode else 250
        inner = np.full((sh + pad_top + pad_bottom, sw + 2 * pad_x), screen_bg, np.uint8)
        face = (255 - sym) if scene.dark_mode else sym
        if scene.dark_mode:
            face = np.where(face > 128, 235, screen_bg).astype(np.uint8)
        inner[pad_top : pad_top + sh, pad_x : pad_x + sw] = face
        bar = max(4, sh // 18)
        cv2.rectangle(inner, (pad_x, pad_top // 3), (pad_x + sw, pad_top // 3 + bar), 128, -1)
        card = np.pad(inner, bezel, constant_values=10)
        origin = (bezel + pad_x, bezel + pad_top)
    else:
        pad = sw // 3
        card = np.full((sh + 2 * pad, sw + 3 * pad), 245, np.uint8)
        card[pad : pad + sh, pad : pad + sw] = sym
        for i in range(4):
            y = pad + i * sh // 4 + sh // 8
            cv2.line(card, (sw + pad + pad // 3, y), (sw + 2 * pad + pad // 2, y), 60, max(2, sh // 40))
        origin = (pad, pad)
    x, y = origin
    corners = np.array([[x, y], [x + sw, y], [x + sw, y + sh], [x, y + sh]], np.float32)
    return np.asarray(cv2.cvtColor(card, cv2.COLOR_GRAY2BGR), dtype=np.uint8), corners


def render_scene(scene: TicketScene) -> Frame:
    """Draw one BGR frame of the scene."""
    w, h = scene.size
    rng = np.random.default_rng(scene.seed)
    img = background(scene.size, scene.seed)
    symbol = code_matrix(scene.text, scene.fmt)
    target = scene.code_height * h
    module_px = max(2, math.ceil(2 * target / max(symbol.shape)))
    card, sym_corners = _card(scene, symbol, module_px)
    # Where the symbol lands in the frame: a square (or bar) around `center`, rotated, top edge receding.
    aspect = symbol.shape[1] / symbol.shape[0]
    if aspect > 1.5:  # a linear or PDF417 symbol is printed wide: `code_height` sizes its width, up to 90% of it
        half_w = min(0.45 * w, target * 1.6 / 2)
        half_h = half_w / aspect
    else:
        half_h = target / 2
        half_w = half_h * aspect
    cx, cy = scene.center[0] * w, scene.center[1] * h
    t = scene.tilt
    local = np.array(
        [[-half_w * (1 - t), -half_h], [half_w * (1 - t), -half_h], [half_w, half_h], [-half_w, half_h]], np.float32
    )
    a = math.radians(scene.rotation)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], np.float32)
    dst = local @ rot.T + np.array([cx, cy], np.float32)
    m = cv2.getPerspectiveTransform(sym_corners, dst.astype(np.float32))
    cv2.warpPerspective(card, m, (w, h), dst=img, borderMode=cv2.BORDER_TRANSPARENT, flags=cv2.INTER_AREA)
    return _camera_effects(img, scene, dst, rng)


def _camera_effects(img: Frame, scene: TicketScene, quad: npt.NDArray[np.float32], rng: np.random.Generator) -> Frame:
    out = img.astype(np.float32)
    if scene.glare > 0:
        h, w = img.shape[:2]
        gx, gy = quad.mean(axis=0) + rng.normal(0, 0.15, 2) * (quad.max(axis=0) - quad.min(axis=0))
        radius = 0.35 * float(np.ptp(quad[:, 0]))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        blob = np.exp(-((xx - gx) ** 2 + ((yy - gy) * 1.8) ** 2) / (2 * radius**2))
        out += (scene.glare * 255 * blob)[:, :, None]
    if scene.contrast != 1.0:
        mean = float(out.mean())
        out = (mean + (out - mean) * scene.contrast).astype(np.float32)
    if scene.blur > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), scene.blur), dtype=np.float32)
    if scene.noise > 0:
        out += _noise(out.shape, scene.seed) * scene.noise
    frame = out.clip(0, 255).astype(np.uint8)
    if scene.jpeg_quality > 0:
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, scene.jpeg_quality])
        if ok:
            frame = np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)
    return frame


@lru_cache(maxsize=4)
def _noise(shape: tuple[int, ...], seed: int) -> npt.NDArray[np.float32]:
    """Unit sensor noise, drawn once per frame size (drawing it per frame was most of the rendering time)."""
    noise = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    noise.setflags(write=False)
    return noise


def release_caches() -> None:
    """Drop the cached backgrounds and noise (11 MB per seed at 1280×720, one seed per code of a demo video): a
    process that has made its video never draws again, and the app kept ~85 MB of them for its whole life."""
    _background.cache_clear()
    _noise.cache_clear()


def conditions(text: str, size: tuple[int, int] = (1280, 720), fmt: str = "qr_code") -> dict[str, TicketScene]:
    """The door conditions we measure and test: name → scene."""
    base = TicketScene(text, fmt, size=size, seed=7)
    return {
        "paper": base,
        "paper_small": replace(base, code_height=0.22, center=(0.4, 0.55)),
        "paper_perspective": replace(base, tilt=0.3, rotation=25.0),
        "paper_blur": replace(base, blur=2.0),
        "paper_glare": replace(base, glare=0.8),
        "paper_low_contrast": replace(base, contrast=0.3),
        "phone": replace(base, medium="phone", rotation=-12.0),
        "phone_dark_mode": replace(base, medium="phone", dark_mode=True, rotation=8.0),
        "phone_dim_glare": replace(base, medium="phone", contrast=0.4, glare=0.6, tilt=0.15),
        "phone_dark_blur": replace(base, medium="phone", dark_mode=True, blur=1.5, tilt=0.2),
    }


def make_demo_video(
    codes: Sequence[str],
    path: Path | str,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: int = 30,
    hold_seconds: float = 1.5,
    gap_seconds: float = 1.0,
    fmt: str = "qr_code",
    seed: int = 0,
) -> Path:
    """A video in which each code is held up for `hold_seconds` (moving a little), then the view is empty.

    The container follows the suffix: ``.avi`` is MJPG (what USB cameras send), ``.mp4`` is mp4v.
    """
    path = Path(path)
    fourcc = cv2.VideoWriter.fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(path), fourcc, float(fps), size)
    if not writer.isOpened():
        raise OSError(f"cannot write video {path} (codec {'mp4v' if path.suffix == '.mp4' else 'MJPG'})")
    try:
        for frame in demo_frames(
            codes, size=size, fps=fps, hold_seconds=hold_seconds, gap_seconds=gap_seconds, fmt=fmt, seed=seed
        ):
            writer.write(frame)
    finally:
        writer.release()
    return path


def demo_frames(
    codes: Iterable[str],
    *,
    size: tuple[int, int] = (1280, 720),
    fps: int = 30,
    hold_seconds: float = 1.5,
    gap_seconds: float = 1.0,
    fmt: str = "qr_code",
    seed: int = 0,
) -> Iterable[Frame]:
    """The frames of `make_demo_video`, for callers that want them without a file."""
    empty = background(size, seed)
    gap = max(1, round(gap_seconds * fps))
    hold = max(1, round(hold_seconds * fps))
    for i, code in enumerate(codes):
        for _ in range(gap):
            yield empty
        medium = "phone" if i % 2 else "paper"
        for k in range(hold):
            drift = k / hold
            yield render_scene(
                TicketScene(
                    code,
                    fmt,
                    medium=medium,
                    dark_mode=medium == "phone" and i % 4 == 3,
                    size=size,
                    code_height=0.45,
                    center=(0.45 + 0.1 * drift, 0.5 + 0.03 * math.sin(drift * 6)),
                    rotation=-8 + 16 * drift,
                    tilt=0.1,
                    noise=2.0,
                    jpeg_quality=0,
                    seed=seed + i,
                )
            )
    for _ in range(gap):
        yield empty
