"""The demo's camera keeps none of the drawing caches once its video is made (they held ~85 MB for the app's life)."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import kiosk.demo.frame_synth as fs
from kiosk.compose import demo_video


def test_making_the_demo_video_leaves_no_frame_buffers_behind(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        video = demo_video(tmp_path / "demo-camera.avi", ["K1DEMOCODE0001", "K1DEMOCODE0002", "K1DEMOCODE0003"])
        gc.collect()
        held = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, fs.__file__)])
    finally:
        tracemalloc.stop()
    assert video.stat().st_size > 0
    kept = sum(stat.size for stat in held.statistics("filename"))
    assert kept < 1_000_000, f"{kept / 2**20:.1f} MB drawn for the video still held"
