"""CPU of the scanning loop with an idle camera (no code in view) at 30 fps: process CPU time / wall time.

    .venv/bin/python bench/bench_scanner_idle.py [--seconds 10] [--size 1280x720]

A synthetic camera (its own thread, paced at 30 fps, frames with fresh sensor noise and MJPG compression each)
feeds the real ScannerPipeline with the camera decoder. The reference, measured in the same run, is the same loop
with a decoder that does nothing (source + pipeline overhead), and a plain zxing-cpp call per frame.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_decode import idle_frame  # noqa: E402
from kiosk.adapters.camera import FakeFrameSource, VideoFileSource  # noqa: E402
from kiosk.adapters.decoder import DecodedCode, camera_decoder  # noqa: E402
from kiosk.services.scanner_pipeline import ScannerPipeline  # noqa: E402


class NoDecoder:
    def decode(self, frame: Any) -> list[DecodedCode]:
        return []


class PlainZxing:
    def decode(self, frame: Any) -> list[DecodedCode]:
        import zxingcpp

        zxingcpp.read_barcodes(frame)
        return []


def measure(decoder: Any, frames: list[Any], seconds: float, fps: float, video: Path | None) -> tuple[float, int]:
    n = int(seconds * fps)
    source: Any = FakeFrameSource(islice(cycle(frames), n), fps=fps)
    if video is not None:  # MJPG decoding included, as with a real USB camera
        source = VideoFileSource(video, realtime=True)
    pipe = ScannerPipeline(source, decoder, lambda *a: None, lambda e: None)  # type: ignore[arg-type,return-value]
    wall0, cpu0 = time.monotonic(), time.process_time()
    pipe.start()
    pipe.wait_done(seconds * 3 + 10)
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    frames_done = pipe.status().frames
    pipe.stop()
    return cpu / wall, frames_done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--mjpg-video", action="store_true", help="play an MJPG .avi (includes JPEG decoding)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    frames = [idle_frame((w, h), i) for i in range(30)]
    video = None
    if args.mjpg_video:
        import cv2

        video = Path(tempfile.mkdtemp()) / "idle.avi"
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), args.fps, (w, h))
        for f in islice(cycle(frames), int(args.seconds * args.fps)):
            writer.write(f)
        writer.release()
    kind = "MJPG video" if video else "synthetic source"
    print(f"idle camera ({kind}) {w}x{h} at {args.fps:.0f} fps, {args.seconds:.0f} s each (process CPU / wall)")
    base, _ = measure(NoDecoder(), frames, args.seconds, args.fps, video)
    ours, n_ours = measure(camera_decoder(), frames, args.seconds, args.fps, video)
    ref, n_ref = measure(PlainZxing(), frames, args.seconds, args.fps, video)
    expected = int(args.seconds * args.fps)
    print(f"no decoder (loop overhead)  {100 * base:5.1f}% of one core")
    print(f"camera strategy             {100 * ours:5.1f}% of one core ({n_ours}/{expected} frames decoded)")
    print(f"plain zxing-cpp per frame   {100 * ref:5.1f}% of one core ({n_ref}/{expected} frames decoded)")
    print(f"ratio camera / plain zxing-cpp {ours / ref:.2f}; decoding alone {100 * (ours - base):.1f}% of one core")


if __name__ == "__main__":
    main()
