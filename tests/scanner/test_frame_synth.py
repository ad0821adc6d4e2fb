"""Generated frames and the demo video: what the demo camera plays and the tests decode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest

from kiosk.adapters.decoder import still_decoder
from kiosk.demo import frame_synth as fs


def test_demo_video_has_the_planned_frames_and_each_code_reads(tmp_path: Path) -> None:
    codes = ["Q9GFMR42TEQ2", "M2UNXPHQWJCN"]
    path = fs.make_demo_video(codes, tmp_path / "demo.avi", size=(640, 360), fps=10, hold_seconds=0.5, gap_seconds=0.4)
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == 10
    frames: list[Any] = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == 3 * 4 + 2 * 5 and frames[0].shape == (360, 640, 3)
    dec = still_decoder()
    read = [[c.text for c in dec.decode(f)] for f in frames]
    assert read[4:9] == [["Q9GFMR42TEQ2"]] * 5 and read[13:18] == [["M2UNXPHQWJCN"]] * 5
    assert read[:4] == [[]] * 4 and read[-4:] == [[]] * 4


def test_mp4_container(tmp_path: Path) -> None:
    path = fs.make_demo_video(["X1"], tmp_path / "d.mp4", size=(320, 240), fps=5, hold_seconds=0.2, gap_seconds=0.2)
    assert path.stat().st_size > 0


def test_unwritable_video_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="cannot write video"):
        fs.make_demo_video(["X1"], tmp_path / "missing-dir" / "d.avi", size=(320, 240))


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot draw format 'maxicode'"):
        fs.code_matrix("X", "maxicode")


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_every_condition_renders_at_the_asked_size(size: tuple[int, int]) -> None:
    for name, scene in fs.conditions("K1ABCDEFGH23456789", size).items():
        frame = fs.render_scene(scene)
        assert frame.shape == (size[1], size[0], 3), name
