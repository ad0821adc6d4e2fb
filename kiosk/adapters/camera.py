"""Frame sources: a USB camera through OpenCV, a video file, an image folder, and a scripted fake twin.

Every source runs its own thread and publishes into a one-frame slot (the newest frame replaces the older one), so
a slow decoder skips frames instead of growing a queue and falling seconds behind the door. A "lossless" source
(files, tests, the headless CLI) instead waits until the consumer took each frame, so every frame is seen.
The camera's watchdog reopens it when frames stop (USB unplugged, driver hiccup) and reports its state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
MAX_SIDE = 8192


class SourceState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    STALLED = "stalled"  # no frame for a while: the watchdog is reopening the camera
    UNAVAILABLE = "unavailable"  # the camera cannot be opened (unplugged, no such device): retried with backoff
    FAILED = "failed"  # a file source that cannot be read at all: final
    ENDED = "ended"  # a file or folder has no more frames
    STOPPED = "stopped"


@dataclass(frozen=True)
class SourceStatus:
    state: SourceState
    detail: str = ""
    frames: int = 0
    reopens: int = 0
    bad_frames: int = 0
    mode: str = ""  # what the camera actually delivers (drivers pick the nearest mode to what was asked)


class FrameSource(Protocol):
    """What the scanner pipeline reads from."""

    def start(self) -> None: ...
    def stop(self, timeout: float = 5.0) -> None: ...
    def next_frame(self, after: int, timeout: float) -> tuple[int, Frame] | None: ...
    def status(self) -> SourceStatus: ...


class FrameSlot:
    """The newest frame and its sequence number; readers wait for one newer than the last they saw."""

    def __init__(self, lossless: bool = False) -> None:
        self._cond = threading.Condition()
        self._seq = 0
        self._frame: Frame | None = None
        self._taken = 0
        self.lossless = lossless
        self.closed = False

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self.lossless:  # wait until the reader took the previous frame (never more than one held)
                while self._taken < self._seq and not self.closed:
                    self._cond.wait(0.1)
            self._seq += 1
            self._frame = frame
            self._cond.notify_all()

    def get(self, after: int, timeout: float) -> tuple[int, Frame] | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seq <= after or self._frame is None:
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self._cond.wait(left)
            self._taken = self._seq
            self._cond.notify_all()
            return self._seq, self._frame

    def peek(self) -> Frame | None:
        with self._cond:
            return self._frame

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class ThreadedSource:
    """Base: a thread running `_run` that publishes frames and keeps the status up to date."""

    def __init__(self, name: str, lossless: bool) -> None:
        self.name = name
        self.slot = FrameSlot(lossless)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = SourceStatus(SourceState.STARTING)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._guarded_run, name=f"frames-{self.name}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; wait at most `timeout` s for it (a read stuck in a driver ends on its own later)."""
        self._stop.set()
        self.slot.close()
        if self._thread is not None and timeout > 0:
            self._thread.join(timeout)
        if self.status().state not in (SourceState.ENDED, SourceState.FAILED):  # keep how a file source finished
            self._set(SourceState.STOPPED)

    def next_frame(self, after: int, timeout: float) -> tuple[int, Frame] | None:
        return self.slot.get(after, timeout)

    def latest(self) -> Frame | None:
        return self.slot.peek()

    def status(self) -> SourceStatus:
        with self._lock:
            return self._status

    def _set(self, state: SourceState, detail: str = "", **counts: int) -> None:
        with self._lock:
            s = self._status
            self._status = SourceStatus(
                state,
                detail,
                counts.get("frames", s.frames),
                counts.get("reopens", s.reopens),
                counts.get("bad_frames", s.bad_frames),
            )

    def _publish(self, frame: Frame) -> None:
        self.slot.put(frame)
        with self._lock:
            s = self._status
            self._status = SourceStatus(SourceState.RUNNING, "", s.frames + 1, s.reopens, s.bad_frames)

    def _bad(self, detail: str) -> None:
        with self._lock:
            s = self._status
            self._status = SourceStatus(s.state, detail, s.frames, s.reopens, s.bad_frames + 1)

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # a source thread must report, not vanish silently
            self._set(SourceState.FAILED, f"{type(exc).__name__}: {exc}")
        finally:
            self.slot.close()

    def _run(self) -> None:
        raise NotImplementedError

    def _pace(self, fps: float | None, last: float) -> float:
        if fps:
            delay = last + 1.0 / fps - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
        return time.monotonic()


def valid_frame(frame: Any) -> str | None:
    """Why a frame is unusable, or None when it is fine."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        return "not an 8-bit image"
    if frame.ndim not in (2, 3) or min(frame.shape[:2]) < 1 or max(frame.shape[:2]) > MAX_SIDE:
        return f"unusable frame shape {getattr(frame, 'shape', None)}"
    return None


@dataclass(frozen=True)
class CameraSettings:
    """How to open a camera. Absurd values are refused here, with the reason, before any device is touched."""

    device: int | str = 0
    width: int = 1280
    height: int = 720
    fps: int = 30
    mjpg: bool = True
    stall_seconds: float = 2.0  # no frame for this long: the watchdog reopens the camera
    reopen_backoff: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)

    def __post_init__(self) -> None:
        if not (16 <= self.width <= MAX_SIDE and 16 <= self.height <= MAX_SIDE):
            raise ValueError(f"camera resolution {self.width}x{self.height} is outside 16..{MAX_SIDE} pixels")
        if not 1 <= self.fps <= 240:
            raise ValueError(f"camera frame rate {self.fps} is outside 1..240")
        if self.stall_seconds <= 0:
            raise ValueError("stall_seconds must be positive")


class Capture(Protocol):
    def isOpened(self) -> bool: ...  # OpenCV names it so
    def read(self) -> tuple[bool, Any]: ...
    def release(self) -> None: ...


def open_opencv_capture(settings: CameraSettings) -> Capture:
    """cv2.VideoCapture with MJPG, resolution and frame rate asked for (the driver may pick the nearest)."""
    cap = cv2.VideoCapture(settings.device)
    if settings.mjpg:
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, settings.width)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.height)
    cap.set(cv2.CAP_PROP_FPS, settings.fps)
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's own queue would add latency
    return cap


class OpenCvCamera(ThreadedSource):
    """A USB/V4L2 camera (index or /dev/video path) on its own capture thread, with a reopening watchdog."""

    def __init__(
        self,
        settings: CameraSettings,
        open_capture: Callable[[CameraSettings], Capture] = open_opencv_capture,
    ) -> None:
        super().__init__(f"camera-{settings.device}", lossless=False)
        self.settings = settings
        self._open_capture = open_capture
        self._last_frame_at = 0.0
        self._mode = ""

    def status(self) -> SourceStatus:
        s = super().status()
        # A read stuck inside the driver cannot report itself: judge by the age of the newest frame.
        age = time.monotonic() - self._last_frame_at
        if s.state == SourceState.RUNNING and self._last_frame_at and age > self.settings.stall_seconds:
            s = replace(s, state=SourceState.STALLED, detail=f"no frame for {age:.1f} s")
        return replace(s, mode=self._mode)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            cap = self._try_open(attempt)
            if cap is None:
                attempt += 1
                continue
            attempt = 0
            self._mode = ""  # a camera that comes back may come back in another mode
            self._read_until_stalled(cap)
            cap.release()
            if self._stop.is_set():
                break
            with self._lock:
                reopens = self._status.reopens + 1
            self._set(
                SourceState.STALLED, f"no frame for {self.settings.stall_seconds:.1f} s: reopening", reopens=reopens
            )

    def _try_open(self, attempt: int) -> Capture | None:
        backoff = self.settings.reopen_backoff
        try:
            cap = self._open_capture(self.settings)
            if cap.isOpened():
                return cap
            cap.release()
            detail = f"cannot open camera {self.settings.device!r}"
        except Exception as exc:  # drivers raise all sorts; the watchdog keeps trying
            detail = f"cannot open camera {self.settings.device!r}: {exc}"
        self._set(SourceState.UNAVAILABLE, detail)
        self._stop.wait(backoff[min(attempt, len(backoff) - 1)])
        return None

    def _read_until_stalled(self, cap: Capture) -> None:
        last_good = time.monotonic()
        while not self._stop.is_set():
            try:
                ok, frame = cap.read()
            except Exception as exc:  # a driver error is a failed read, not a dead thread
                ok, frame = False, None
                self._bad(f"read error: {exc}")
            problem = None if ok else "camera returned no frame"
            if ok:
                problem = valid_frame(frame)
            if problem is None:
                if not self._mode:
                    self._mode = f"{frame.shape[1]}x{frame.shape[0]}"
                self._last_frame_at = last_good = time.monotonic()
                self._publish(frame)
                continue
            self._bad(problem)
            if time.monotonic() - last_good > self.settings.stall_seconds:
                return
            self._stop.wait(0.02)


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
