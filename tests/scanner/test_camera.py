"""Frame sources: latest-frame slot, video files, image folders with bad files, a camera that goes away."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.adapters.camera import (
    CameraSettings,
    FakeFrameSource,
    FrameSlot,
    ImageFolderSource,
    OpenCvCamera,
    SourceState,
    ThreadedSource,
    VideoFileSource,
    read_image,
)
from kiosk.demo import frame_synth as fs


def frame(value: int, size: tuple[int, int] = (32, 24)) -> np.ndarray:
    return np.full((size[1], size[0], 3), value, np.uint8)


def drain(source: ThreadedSource, timeout: float = 10.0) -> list[np.ndarray]:
    seq, out = 0, []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = source.next_frame(seq, 0.2)
        if item is None:
            if source.status().state in (SourceState.ENDED, SourceState.FAILED):
                break
            continue
        seq, f = item
        out.append(f)
    return out


def wait_for(pred: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def test_slot_keeps_only_the_newest_frame_for_a_slow_reader() -> None:
    slot = FrameSlot()
    for i in range(100):
        slot.put(frame(i))
    seq, f = slot.get(0, 0.1)  # type: ignore[misc]
    assert seq == 100 and f[0, 0, 0] == 99
    assert slot.get(seq, 0.05) is None  # nothing newer: waits, then says so


def test_lossless_slot_hands_every_frame_over_but_holds_at_most_one() -> None:
    slot = FrameSlot(lossless=True)
    produced: list[int] = []

    def producer() -> None:
        for i in range(20):
            slot.put(frame(i))
            produced.append(i)

    t = threading.Thread(target=producer)
    t.start()
    time.sleep(0.1)
    assert len(produced) <= 2  # the producer waits for the reader instead of queueing
    seen: list[int] = []
    seq = 0
    while len(seen) < 20:
        seq, f = slot.get(seq, 1.0)  # type: ignore[misc]
        seen.append(int(f[0, 0, 0]))
    t.join(2)
    assert seen == list(range(20))


def test_video_file_source_plays_every_frame_then_ends(tmp_path: Path) -> None:
    path = fs.make_demo_video(
        ["Q9GFMR42TEQ2"], tmp_path / "d.avi", size=(320, 240), fps=10, hold_seconds=0.5, gap_seconds=0.3
    )
    src = VideoFileSource(path)
    src.start()
    frames = drain(src)
    src.stop()
    assert len(frames) == 3 + 5 + 3
    assert frames[0].shape == (240, 320, 3)
    assert src.status().state == SourceState.ENDED and src.status().frames == 11


def test_missing_and_unreadable_video_fail_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
    for path, reason in ((tmp_path / "none.avi", "no such video"), (bad, "video")):
        src = VideoFileSource(path)
        src.start()
        assert drain(src, 5) == []
        assert src.status().state == SourceState.FAILED and reason in src.status().detail


def test_image_folder_skips_zero_byte_truncated_and_non_images(tmp_path: Path) -> None:
    good = fs.render_scene(fs.TicketScene("Q9GFMR42TEQ2", size=(320, 240), jpeg_quality=0))
    cv2.imwrite(str(tmp_path / "01_good.png"), good)
    (tmp_path / "02_empty.png").write_bytes(b"")
    png = cv2.imencode(".png", good)[1].tobytes()
    (tmp_path / "03_truncated.png").write_bytes(png[: len(png) // 3])
    (tmp_path / "04_text.jpg").write_text("not an image")
    cv2.imwrite(str(tmp_path / "05_good.jpg"), good)
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    src = ImageFolderSource(tmp_path)
    src.start()
    frames = drain(src)
    st = src.status()
    assert len(frames) == 2 and st.state == SourceState.ENDED
    assert st.bad_frames == 3


@pytest.mark.parametrize(
    ("content", "reason"), [(b"", "empty file"), (b"\x89PNG\r\n\x1a\n\x00\x00", "corrupt or truncated")]
)
def test_read_image_says_what_is_wrong(tmp_path: Path, content: bytes, reason: str) -> None:
    p = tmp_path / "x.png"
    p.write_bytes(content)
    with pytest.raises(ValueError, match=reason):
        read_image(p)


def test_empty_or_missing_folder_fails_clearly(tmp_path: Path) -> None:
    for folder, reason in ((tmp_path, "no images"), (tmp_path / "nope", "no such folder")):
        src = ImageFolderSource(folder)
        src.start()
        drain(src, 3)
        assert src.status().state == SourceState.FAILED and reason in src.status().detail


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"width": 0, "height": 720}, "resolution 0x720"),
        ({"width": 100000, "height": 100000}, "resolution"),
        ({"width": -1280, "height": 720}, "resolution"),
        ({"fps": 0}, "frame rate"),
        ({"fps": 10000}, "frame rate"),
    ],
)
def test_absurd_camera_settings_are_refused(kw: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        CameraSettings(**kw)


class FlakyCapture:
    """A USB camera: delivers frames, is unplugged (reads fail, reopen fails), then comes back."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world

    def isOpened(self) -> bool:
        return bool(self.world["plugged"])

    def read(self) -> tuple[bool, Any]:
        time.sleep(0.005)
        if not self.world["plugged"]:
            return False, None
        self.world["reads"] += 1
        return True, frame(self.world["reads"] % 250)

    def release(self) -> None:
        self.world["released"] += 1


def test_camera_watchdog_reopens_after_unplug_and_reports_states() -> None:
    world: dict[str, Any] = {"plugged": True, "reads": 0, "released": 0}
    opened: list[int] = []

    def opener(settings: CameraSettings) -> FlakyCapture:
        opened.append(1)
        return FlakyCapture(world)

    cam = OpenCvCamera(CameraSettings(stall_seconds=0.2, reopen_backoff=(0.05,)), open_capture=opener)
    cam.start()
    try:
        assert wait_for(lambda: cam.status().state == SourceState.RUNNING)
        world["plugged"] = False
        assert wait_for(lambda: cam.status().state in (SourceState.STALLED, SourceState.UNAVAILABLE))
        assert wait_for(lambda: len(opened) >= 3)  # keeps trying while unplugged
        frames_before = cam.status().frames
        world["plugged"] = True
        assert wait_for(lambda: cam.status().state == SourceState.RUNNING and cam.status().frames > frames_before)
        st = cam.status()
        assert st.reopens >= 1 and st.bad_frames > 0
        assert st.mode == "32x24"  # what the camera really delivers, for the technician
        assert cam.next_frame(0, 1.0) is not None
    finally:
        cam.stop()
    assert cam.status().state == SourceState.STOPPED and world["released"] >= 1


def test_camera_whose_driver_hangs_is_reported_stalled() -> None:
    gate = threading.Event()

    class HangingCapture(FlakyCapture):
        def read(self) -> tuple[bool, Any]:
            if self.world["reads"] >= 3:
                gate.wait(5)  # a read stuck in the driver
            return super().read()

    world: dict[str, Any] = {"plugged": True, "reads": 0, "released": 0}
    cam = OpenCvCamera(CameraSettings(stall_seconds=0.2), open_capture=lambda s: HangingCapture(world))
    cam.start()
    try:
        assert wait_for(lambda: cam.status().state == SourceState.STALLED, 3)
        assert "no frame for" in cam.status().detail
    finally:
        gate.set()
        cam.stop()


def test_camera_open_that_raises_or_returns_junk_does_not_kill_the_thread() -> None:
    calls = {"n": 0}

    class Junk(FlakyCapture):
        def read(self) -> tuple[bool, Any]:
            time.sleep(0.005)
            return True, np.zeros((3, 3), np.float64)  # a driver handing back nonsense

    def opener(settings: CameraSettings) -> FlakyCapture:
        calls["n"] += 1
        if calls["n"] < 3:
            raise RuntimeError("VIDIOC_STREAMON: No such device")
        return Junk({"plugged": True, "reads": 0, "released": 0})

    cam = OpenCvCamera(CameraSettings(stall_seconds=0.1, reopen_backoff=(0.02,)), open_capture=opener)
    cam.start()
    try:
        assert wait_for(lambda: cam.status().bad_frames > 5)
        assert cam.next_frame(0, 0.1) is None  # junk never reaches the decoder
        assert cam._thread is not None and cam._thread.is_alive()
    finally:
        cam.stop()


def test_real_opencv_capture_on_a_missing_device_is_unavailable_not_a_crash() -> None:
    cam = OpenCvCamera(CameraSettings(device="/dev/video-does-not-exist", reopen_backoff=(0.05,)))
    cam.start()
    try:
        assert wait_for(lambda: cam.status().state == SourceState.UNAVAILABLE, 5)
        assert "cannot open camera" in cam.status().detail
    finally:
        cam.stop()


def test_real_opencv_capture_reads_frames_through_the_camera_path(tmp_path: Path) -> None:
    """OpenCV opens a video file like a device: the real capture thread, slot and status on real frames."""
    path = fs.make_demo_video(
        ["Q9GFMR42TEQ2"], tmp_path / "cam.avi", size=(320, 240), fps=10, hold_seconds=1, gap_seconds=0.5
    )
    cam = OpenCvCamera(
        CameraSettings(device=str(path), width=320, height=240, fps=10, stall_seconds=0.3, reopen_backoff=(0.05,))
    )
    cam.start()
    try:
        item = cam.next_frame(0, 5)
        assert item is not None and item[1].shape == (240, 320, 3)
        # the file ends like an unplugged camera: the watchdog reopens it and frames flow again
        assert wait_for(lambda: cam.status().reopens >= 1, 5)
        assert wait_for(lambda: cam.status().frames > 20, 5)
    finally:
        cam.stop()


def test_fake_source_reports_stall_and_recovery() -> None:
    script: list[Any] = [frame(1), None, RuntimeError("gone"), None, None, frame(2), np.zeros((2, 2, 2, 2), np.uint8)]
    src = FakeFrameSource(script, stall_after=3)
    src.start()
    got = drain(src)
    assert [int(f[0, 0, 0]) for f in got] == [1, 2]
    st = src.status()
    assert st.reopens == 1 and st.bad_frames == 5 and st.state == SourceState.ENDED
