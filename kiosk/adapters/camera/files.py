"""Frame sources without a camera: a video file, an image folder, and the scripted fake twin the tests use."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.adapters.camera.base import Frame, SourceState, ThreadedSource, valid_frame

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


class VideoFileSource(ThreadedSource):
    """Frames of a video file at its own frame rate (`realtime`) or as fast as the reader takes them (lossless)."""

    def __init__(self, path: Path | str, *, realtime: bool = False, loop: bool = False) -> None:
        super().__init__(f"video-{Path(path).name}", lossless=not realtime)
        self.path = Path(path)
        self.realtime = realtime
        self.loop = loop

    def _run(self) -> None:
        if not self.path.is_file():
            self._set(SourceState.FAILED, f"no such video file: {self.path}")
            return
        while not self._stop.is_set():
            cap = cv2.VideoCapture(str(self.path))
            if not cap.isOpened():
                self._set(SourceState.FAILED, f"cannot read video {self.path}")
                return
            fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
            shown = self._play(cap, fps if self.realtime else None)
            cap.release()
            if shown == 0:
                self._set(SourceState.FAILED, f"video {self.path} has no readable frame")
                return
            if not self.loop:
                break
        if not self._stop.is_set():
            self._set(SourceState.ENDED, f"end of {self.path.name}")

    def _play(self, cap: Any, fps: float | None) -> int:
        shown, last = 0, time.monotonic()
        while not self._stop.is_set():
            ok, frame = cap.read()
            if not ok:
                break
            last = self._pace(fps, last)
            self._publish(frame)
            shown += 1
        return shown


def read_image(path: Path) -> Frame:
    """Read an image file; raise ValueError saying why it cannot be used (empty, truncated, not an image)."""
    data = path.read_bytes()
    if not data:
        raise ValueError(f"{path.name}: empty file")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path.name}: not a readable image (corrupt or truncated)")
    problem = valid_frame(img)
    if problem:
        raise ValueError(f"{path.name}: {problem}")
    return np.asarray(img, dtype=np.uint8)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


class ImageFolderSource(ThreadedSource):
    """Each image of a folder in name order, shown for `repeat` frames; unreadable files are counted and skipped."""

    def __init__(self, folder: Path | str, *, fps: float | None = None, repeat: int = 1, loop: bool = False) -> None:
        super().__init__(f"folder-{Path(folder).name}", lossless=fps is None)
        self.folder = Path(folder)
        self.fps = fps
        self.repeat = max(1, repeat)
        self.loop = loop

    def _run(self) -> None:
        if not self.folder.is_dir():
            self._set(SourceState.FAILED, f"no such folder: {self.folder}")
            return
        while not self._stop.is_set():
            files = image_files(self.folder)
            if not files:
                self._set(SourceState.FAILED, f"no images in {self.folder}")
                return
            last = time.monotonic()
            for path in files:
                try:
                    frame = read_image(path)
                except (OSError, ValueError) as exc:
                    self._bad(str(exc))
                    continue
                for _ in range(self.repeat):
                    if self._stop.is_set():
                        return
                    last = self._pace(self.fps, last)
                    self._publish(frame)
            if not self.loop:
                break
        if not self._stop.is_set():
            self._set(SourceState.ENDED, f"end of {self.folder.name}")


class FakeFrameSource(ThreadedSource):
    """Test twin: plays a script of frames; `None` is a missing frame and an exception a failed read.

    With `stall_seconds`, a run of failed reads longer than that is reported as STALLED with a reopen, like the
    camera's watchdog, and the next good frame brings the source back to RUNNING.
    """

    def __init__(
        self,
        script: Iterable[Frame | Exception | None],
        *,
        fps: float | None = None,
        stall_after: int = 3,
    ) -> None:
        super().__init__("fake", lossless=fps is None)
        self._script = script
        self.fps = fps
        self.stall_after = stall_after

    def _run(self) -> None:
        misses, last = 0, time.monotonic()
        for step in self._script:
            if self._stop.is_set():
                return
            last = self._pace(self.fps, last)
            problem = "camera returned no frame" if step is None else None
            if isinstance(step, Exception):
                problem = f"read error: {step}"
            elif step is not None:
                problem = valid_frame(step)
            if problem is None and isinstance(step, np.ndarray):
                misses = 0
                self._publish(step)
                continue
            misses += 1
            self._bad(problem or "unusable frame")
            if misses == self.stall_after:
                with self._lock:
                    reopens = self._status.reopens + 1
                self._set(SourceState.STALLED, "no frames: reopening", reopens=reopens)
        if not self._stop.is_set():
            self._set(SourceState.ENDED, "end of script")
