"""A USB/V4L2 camera through OpenCV: settings checked before any device is touched, a capture thread, and a
watchdog that reopens the camera when frames stop (USB unplugged, driver hiccup) and reports its state."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import cv2

from kiosk.adapters.camera.base import MAX_SIDE, SourceState, SourceStatus, ThreadedSource, valid_frame


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
