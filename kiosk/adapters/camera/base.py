"""The frame sources' common part: the one-frame slot, the capture thread every source runs, and its status.

Every source runs its own thread and publishes into a one-frame slot (the newest frame replaces the older one), so
a slow decoder skips frames instead of growing a queue and falling seconds behind the door. A "lossless" source
(files, tests, the headless CLI) instead waits until the consumer took each frame, so every frame is seen.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
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
