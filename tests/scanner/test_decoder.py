"""Decoders on generated frames of every ticket symbology, bad frames, and the real photos when present."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.adapters.decoder import (
    CascadeDecoder,
    DecodedCode,
    FakeDecoder,
    FrameError,
    Pass,
    ZbarDecoder,
    ZxingDecoder,
    camera_decoder,
    still_decoder,
    to_gray,
)
from kiosk.demo import frame_synth as fs
from tests.scanner.conftest import PHOTOS

SYMBOLS = [
    ("code_128", "4711ABCD2026"),
    ("ean_13", "7612345678900"),
    ("ean_8", "76123450"),
    ("pdf417", "K1" + "ABCDEFGH23456789" * 3),
    ("aztec", "K1ABCDEFGH23456789ABCDEFGH"),
    ("data_matrix", "K1ABCDEFGH23456789ABCDEFGH"),
]


def read_within(decoder: CascadeDecoder, frame: np.ndarray, frames: int) -> list[DecodedCode]:
    """What a camera decoder reads when the same view lasts `frames` frames."""
    for _ in range(frames):
        found = decoder.decode(frame)
        if found:
            return found
    return []


@pytest.mark.parametrize("condition", ["paper", "paper_glare", "paper_low_contrast", "phone", "phone_dark_mode"])
def test_signed_ticket_qr_is_read_on_the_first_camera_frame(a_signed_code: str, condition: str) -> None:
    frame = fs.render_scene(fs.conditions(a_signed_code)[condition])
    found = camera_decoder().decode(frame)
    assert [(c.format, c.text) for c in found] == [("qr_code", a_signed_code)]


def test_dark_mode_1080p_signed_qr(a_signed_code: str) -> None:
    frame = fs.render_scene(fs.conditions(a_signed_code, (1920, 1080))["phone_dark_blur"])
    assert [c.text for c in read_within(camera_decoder(), frame, 4)] == [a_signed_code]


@pytest.mark.parametrize(("fmt", "text"), SYMBOLS)
def test_every_ticket_symbology_is_read(fmt: str, text: str) -> None:
    frame = fs.render_scene(fs.TicketScene(text, fmt, size=(1280, 720), code_height=0.5, seed=3))
    assert [(c.format, c.text) for c in still_decoder().decode(frame)] == [(fmt, text)]
    assert [(c.format, c.text) for c in read_within(camera_decoder(), frame, 4)] == [(fmt, text)]


def test_dark_mode_barcode_needs_the_inverted_pass() -> None:
    frame = fs.render_scene(fs.TicketScene("4711ABCD2026", "code_128", medium="phone", dark_mode=True, seed=1))
    assert ZxingDecoder().decode(frame) == []  # zxing-cpp's own try_invert misses a light-on-dark linear code
    assert [c.text for c in still_decoder().decode(frame)] == ["4711ABCD2026"]


def test_two_codes_in_one_frame_are_both_returned(a_signed_code: str) -> None:
    left = fs.render_scene(fs.TicketScene(a_signed_code, center=(0.27, 0.5), code_height=0.5, seed=2))
    right = fs.render_scene(fs.TicketScene("Q9GFMR42TEQ2", center=(0.75, 0.5), code_height=0.4, seed=2))
    frame = np.concatenate([left[:, :640], right[:, 640:]], axis=1)
    assert {c.text for c in camera_decoder().decode(frame)} == {a_signed_code, "Q9GFMR42TEQ2"}


def test_corners_are_in_frame_pixels_after_a_downscaled_pass(a_signed_code: str) -> None:
    scene = fs.TicketScene(a_signed_code, center=(0.7, 0.6), code_height=0.4, seed=5)
    (code,) = ZxingDecoder(scale=0.5, try_downscale=False).decode(fs.render_scene(scene))
    xs = [x for x, _ in code.corners]
    ys = [y for _, y in code.corners]
    assert abs(sum(xs) / 4 - 0.7 * 1280) < 25 and abs(sum(ys) / 4 - 0.6 * 720) < 25


def test_empty_scene_reads_nothing() -> None:
    frame = fs.background((1280, 720), 4)
    assert camera_decoder().decode(frame) == [] and still_decoder().decode(frame) == []


def test_zbar_survives_pyzbar_issue_139(monkeypatch: pytest.MonkeyPatch) -> None:
    """libzbar reports an unknown orientation as UINT_MAX; stock pyzbar then raises and loses the frame."""
    import pyzbar.pyzbar

    img = fs.code_matrix("Q9GFMR42TEQ2")
    img = np.asarray(cv2.resize(img, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST), dtype=np.uint8)
    monkeypatch.setattr(pyzbar.pyzbar, "zbar_symbol_get_orientation", lambda _sym: 4294967295)
    with pytest.raises(ValueError, match="ZBarOrientation"):
        pyzbar.pyzbar.decode(img)
    assert [c.text for c in ZbarDecoder().decode(img)] == ["Q9GFMR42TEQ2"]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (None, "not an image array"),
        (b"\x00" * 100, "not an image array"),
        (np.zeros((100, 100), np.float32), "pixel type float32"),
        (np.zeros((100, 100, 2), np.uint8), "shape"),
        (np.zeros((2, 2, 2, 2), np.uint8), "shape"),
        (np.zeros((0, 500), np.uint8), "outside 1..8192"),
        (np.zeros((9000, 10), np.uint8), "outside 1..8192"),
        (np.zeros((0, 0, 3), np.uint8), "outside"),
    ],
)
def test_bad_frames_get_a_clear_error(frame: object, reason: str) -> None:
    for decoder in (camera_decoder(), still_decoder(), ZxingDecoder(), ZbarDecoder(), FakeDecoder()):
        with pytest.raises(FrameError, match=reason):
            decoder.decode(frame)  # type: ignore[arg-type]


def test_random_noise_and_flat_frames_decode_to_nothing() -> None:
    rng = np.random.default_rng(0)
    for frame in (rng.integers(0, 256, (720, 1280), dtype=np.uint8), np.zeros((720, 1280, 3), np.uint8)):
        assert camera_decoder().decode(frame) == []


def test_gray_conversion_accepts_bgr_bgra_and_single_channel() -> None:
    bgr = np.full((20, 30, 3), 200, np.uint8)
    assert to_gray(bgr).shape == (20, 30)
    assert to_gray(np.dstack([bgr, bgr[:, :, :1]])).shape == (20, 30)
    assert to_gray(bgr[:, :, :1]).shape == (20, 30)


class Recording:
    def __init__(self, name: str, result: list[DecodedCode], log: list[str]) -> None:
        self.name, self.result, self.log = name, result, log

    def decode(self, frame: np.ndarray) -> list[DecodedCode]:
        self.log.append(self.name)
        return self.result


def test_camera_cascade_runs_pass_zero_every_frame_and_the_others_in_turn() -> None:
    log: list[str] = []
    passes = [Pass(n, Recording(n, [], log)) for n in ("p0", "p1", "p2", "p3")]
    cascade = CascadeDecoder(passes, rotate=True)
    frame = np.zeros((16, 16), np.uint8)
    for _ in range(4):
        cascade.decode(frame)
    assert log == ["p0", "p1", "p0", "p2", "p0", "p3", "p0", "p1"]


def test_still_cascade_stops_at_the_first_pass_that_reads() -> None:
    log: list[str] = []
    hit = [DecodedCode("qr_code", "A"), DecodedCode("qr_code", "A")]
    passes = [
        Pass("p0", Recording("p0", [], log)),
        Pass("p1", Recording("p1", hit, log)),
        Pass("p2", Recording("p2", [], log)),
    ]
    assert CascadeDecoder(passes).decode(np.zeros((16, 16), np.uint8)) == [DecodedCode("qr_code", "A")]
    assert log == ["p0", "p1"]


def _photo_sets() -> list[Path]:
    return sorted(p for p in PHOTOS.iterdir() if p.is_dir()) if PHOTOS.is_dir() else []


def _expected(img: Path) -> str:
    return img.with_suffix(".txt").read_bytes().decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\r\n")


@pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"real barcode photos not present at {PHOTOS}")
def test_strategy_reads_at_least_as_many_real_photos_as_either_library_on_every_folder() -> None:
    from kiosk.adapters.camera import image_files, read_image

    still, zx, zb = still_decoder(), ZxingDecoder(), ZbarDecoder()
    for folder in _photo_sets():
        hits = {"still": 0, "zxing": 0, "zbar": 0}
        for img in image_files(folder):
            frame, want = read_image(img), _expected(img)
            for name, dec in (("still", still), ("zxing", zx), ("zbar", zb)):
                hits[name] += any(c.text.replace("\r\n", "\n").rstrip("\r\n") == want for c in dec.decode(frame))
        assert hits["still"] >= max(hits["zxing"], hits["zbar"]), (folder.name, hits)
        assert hits["still"] > 0, folder.name
