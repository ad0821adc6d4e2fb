"""Decode rate and time: pyzbar alone, zxing-cpp alone and our strategies, measured in the same run.

    .venv/bin/python bench/bench_decode.py [--photos ../shared/data/barcodes] [--frames 150] [--skip-photos]

1. Real photos, per folder: images read (expected text found) and median ms per image.
2. Generated door frames (every condition of kiosk.demo.frame_synth.conditions × ticket symbologies) at 720p
   and 1080p: read rate per decoder; the camera strategy is counted on the first frame and within 4 frames.
3. Time per frame, p50/p95/p99, with and without a code in view, at 720p and 1080p, for the camera strategy and
   for a plain zxing-cpp call (the reference, same frames, same run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.adapters.camera import image_files, read_image  # noqa: E402
from kiosk.adapters.decoder import (  # noqa: E402
    ZbarDecoder,
    camera_decoder,
    still_decoder,
)
from kiosk.demo import frame_synth as fs  # noqa: E402


def norm(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\r\n")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def single_libraries() -> dict[str, Callable[[Any], list[str]]]:
    import zxingcpp

    zbar_all = ZbarDecoder(formats=("qr_code", "code_128", "ean_13", "ean_8", "upc_a"))
    return {
        "pyzbar": lambda f: [c.text for c in zbar_all.decode(f)],
        "zxing-cpp": lambda f: [b.text for b in zxingcpp.read_barcodes(f, text_mode=zxingcpp.TextMode.Plain)],
    }


def photos(root: Path) -> None:
    print(f"\n## Real photos ({root})")
    libs = single_libraries()
    still = still_decoder()
    deciders: dict[str, Callable[[Any], list[str]]] = {
        **libs,
        "still (ours)": lambda f: [c.text for c in still.decode(f)],
        "camera (ours, 4 frames)": _camera_within(4),
    }
    print(f"{'folder':<11} {'n':>3} " + " ".join(f"{k:>24}" for k in deciders))
    totals = dict.fromkeys(deciders, 0)
    count = 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        imgs = image_files(folder)
        hits = dict.fromkeys(deciders, 0)
        times: dict[str, list[float]] = {k: [] for k in deciders}
        for img in imgs:
            frame = read_image(img)
            want = norm(img.with_suffix(".txt").read_bytes().decode("utf-8", "replace"))
            for name, fn in deciders.items():
                t0 = time.perf_counter()
                got = fn(frame)
                times[name].append((time.perf_counter() - t0) * 1000)
                hits[name] += any(norm(t) == want for t in got)
        count += len(imgs)
        cells = []
        for k in deciders:
            totals[k] += hits[k]
            cells.append(f"{hits[k]:>3}/{len(imgs):<3} {statistics.median(times[k]):5.1f} ms")
        print(f"{folder.name:<11} {len(imgs):>3} " + " ".join(f"{c:>24}" for c in cells))
    print(f"{'total':<11} {count:>3} " + " ".join(f"{totals[k]:>17}/{count:<6}" for k in deciders))


def _camera_within(frames: int) -> Callable[[Any], list[str]]:
    def run(frame: Any) -> list[str]:
        dec = camera_decoder()
        for _ in range(frames):
            found = dec.decode(frame)
            if found:
                return [c.text for c in found]
        return []

    return run


def ticket_texts() -> list[tuple[str, str, str]]:
    from kiosk.demo.venue import build_demo_venue

    venue = build_demo_venue(datetime(2026, 11, 28, 18, 0, tzinfo=UTC), 6, seed=3)
    signed = next(c for c, _ in venue.expected if c.startswith("K1"))
    listed = next(c for c, _ in venue.expected if not c.startswith("K1"))
    return [
        ("QR signed", "qr_code", signed),
        ("QR list", "qr_code", listed),
        ("Code 128", "code_128", listed),
        ("EAN-13", "ean_13", "7612345678900"),
        ("PDF417", "pdf417", signed[:80]),
        ("Aztec", "aztec", signed),
        ("DataMatrix", "data_matrix", signed),
    ]


def generated(sizes: list[tuple[int, int]]) -> None:
    print("\n## Generated door frames: read rate per symbology (all conditions)")
    libs = single_libraries()
    still = still_decoder()
    deciders: dict[str, Callable[[Any], list[str]]] = {
        **libs,
        "camera 1 frame": lambda f: [c.text for c in camera_decoder().decode(f)],
        "camera 4 frames": _camera_within(4),
        "still (ours)": lambda f: [c.text for c in still.decode(f)],
    }
    for size in sizes:
        print(f"\n{size[0]}x{size[1]}: {'symbology':<11}" + "".join(f"{k:>17}" for k in deciders))
        misses: list[str] = []
        for label, fmt, text in ticket_texts():
            scenes = fs.conditions(text, size, fmt)
            hits = dict.fromkeys(deciders, 0)
            for cname, scene in scenes.items():
                frame = fs.render_scene(scene)
                for k, fn in deciders.items():
                    ok = text in fn(frame)
                    hits[k] += ok
                    if not ok and k == "camera 4 frames":
                        misses.append(f"{label}/{cname}")
            print(f"{'':>10} {label:<11}" + "".join(f"{hits[k]:>14}/{len(scenes):<2}" for k in deciders))
        print(f"{'':>10} camera misses: {', '.join(misses) or 'none'}")


def timing(sizes: list[tuple[int, int]], n: int) -> None:
    import zxingcpp

    print(f"\n## Time per frame, camera strategy vs plain zxing-cpp (reference), {n} frames each")
    _, _, signed = ticket_texts()[0]
    for size in sizes:
        idle = [idle_frame(size, i) for i in range(30)]
        conds = list(fs.conditions(signed, size).values())
        with_code = [fs.render_scene(c) for c in conds]
        for label, frames in (("no code", idle), ("code in view", with_code)):
            cam = camera_decoder()
            ours, ref = [], []
            for i in range(n):
                f = frames[i % len(frames)]
                t0 = time.perf_counter()
                cam.decode(f)
                t1 = time.perf_counter()
                zxingcpp.read_barcodes(f)
                t2 = time.perf_counter()
                ours.append((t1 - t0) * 1000)
                ref.append((t2 - t1) * 1000)
            print(
                f"{size[0]}x{size[1]} {label:<13} camera p50 {pct(ours, 0.5):5.1f} p95 {pct(ours, 0.95):5.1f} "
                f"p99 {pct(ours, 0.99):5.1f} ms | zxing-cpp default p50 {pct(ref, 0.5):5.1f} p95 {pct(ref, 0.95):5.1f} "
                f"ms | ratio p95 {pct(ours, 0.95) / pct(ref, 0.95):.2f}"
            )


def idle_frame(size: tuple[int, int], i: int) -> np.ndarray:
    """A foyer with no code: the static scene plus per-frame sensor noise and MJPG compression."""
    import cv2

    rng = np.random.default_rng(i)
    img = fs.background(size, 1).astype(np.float32)
    img += rng.normal(0, 4.0, img.shape).astype(np.float32)
    _, buf = cv2.imencode(".jpg", img.clip(0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "barcodes")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--skip-photos", action="store_true")
    args = ap.parse_args()
    sizes = [(1280, 720), (1920, 1080)]
    if not args.skip_photos:
        if args.photos.is_dir():
            photos(args.photos)
        else:
            print(f"(no photos at {args.photos}: skipped)")
    generated(sizes)
    timing(sizes, args.frames)


if __name__ == "__main__":
    main()
