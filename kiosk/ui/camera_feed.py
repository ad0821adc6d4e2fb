"""The door screen's view of the camera: the scanner pipeline (kiosk.services.scanner_pipeline) plus the preview.

The pipeline decodes and scans on its own thread and reports each new scan through `on_scan` (on that thread);
the preview takes the newest frame at its own pace (~15 fps) and skips the others, so a slow display never delays
a scan and a slow decode never freezes the preview.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from kiosk.domain.model import Direction
from kiosk.services.scanner_pipeline import PipelineStatus

log = logging.getLogger(__name__)
PREVIEW_WIDTH = 640  # the preview box is ~800 px wide; shrinking first keeps the texture upload small
Frame = npt.NDArray[np.uint8]  # BGR, as the camera delivers it


class Pipeline(Protocol):
    """What the feed needs of kiosk.services.scanner_pipeline.ScannerPipeline."""

    def start(self) -> None: ...
    def stop(self, timeout: float = ...) -> None: ...
    def set_gate(self, gate: str, direction: Direction = ...) -> None: ...
    def latest_frame(self) -> Frame | None: ...
    def status(self) -> PipelineStatus: ...


class CameraView(Protocol):
    """What the app and the screens use of a camera: `CameraFeed`, or the screenshot tool's still picture."""

    last_codes: list[str]

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def set_direction(self, gate: str, direction: str) -> None: ...
    def latest(self) -> tuple[int, Frame | None]: ...
    def note_code(self, text: str) -> None: ...
    @property
    def frames_read(self) -> int: ...
    @property
    def decode_ms(self) -> float: ...
    @property
    def error(self) -> str: ...
    @property
    def state(self) -> str: ...


class CameraFeed:
    """A ScannerPipeline for the screens (door preview, technician camera test), built off the UI thread.

    `make_pipeline` may be slow (opening a camera, or the demo generating its video the first time), so `start`
    runs it in a thread; until it is done the preview is empty and `error` says the camera is starting.
    """

    def __init__(self, make_pipeline: Callable[[], Pipeline]) -> None:
        self._make = make_pipeline
        self.pipeline: Pipeline | None = None
        self._startup_error = ""
        self._stopped = threading.Event()
        self._last_raw: Frame | None = None
        self._small: Frame | None = None
        self._seq = 0
        self._direction: tuple[str, str] | None = None
        self.last_codes: list[str] = []

    def start(self) -> None:
        threading.Thread(target=self._build, name="camera-start", daemon=True).start()

    def _build(self) -> None:
        try:
            pipeline = self._make()
            if self._direction is not None:
                pipeline.set_gate(self._direction[0], Direction(self._direction[1]))
            if not self._stopped.is_set():
                pipeline.start()
                self.pipeline = pipeline
        except Exception as exc:
            log.exception("camera pipeline could not start")
            self._startup_error = f"{type(exc).__name__}: {exc}"

    def stop(self) -> None:
        self._stopped.set()
        if self.pipeline is not None:
            self.pipeline.stop()

    def set_direction(self, gate: str, direction: str) -> None:
        self._direction = (gate, direction)
        if self.pipeline is not None:
            self.pipeline.set_gate(gate, Direction(direction))

    def latest(self) -> tuple[int, Frame | None]:
        """(sequence, BGR preview frame); the sequence changes when a new camera frame arrived."""
        if self.pipeline is None:
            return self._seq, None
        raw = self.pipeline.latest_frame()
        if raw is None:
            return self._seq, None
        if raw is not self._last_raw:
            self._last_raw = raw
            h, w = raw.shape[:2]
            if w > PREVIEW_WIDTH:
                small = cv2.resize(raw, (PREVIEW_WIDTH, int(h * PREVIEW_WIDTH / w)), interpolation=cv2.INTER_AREA)
                raw = small.astype(np.uint8, copy=False)  # already uint8: only tells mypy what cv2 returns
            self._small = raw
            self._seq += 1
        return self._seq, self._small

    def note_code(self, text: str) -> None:
        self.last_codes = [text, *self.last_codes[:2]]

    @property
    def frames_read(self) -> int:
        return int(self.pipeline.status().frames) if self.pipeline is not None else 0

    @property
    def decode_ms(self) -> float:
        return float(self.pipeline.status().last_decode_ms) if self.pipeline is not None else 0.0

    @property
    def state(self) -> str:
        """What the door says about its camera: 'starting', 'failed', 'stalled', 'unavailable' or '' (working)."""
        if self.pipeline is None:
            return "failed" if self._startup_error else "starting"
        source = str(getattr(self.pipeline.status().source, "state", ""))
        return source if source in ("starting", "failed", "stalled", "unavailable") else ""

    @property
    def error(self) -> str:
        if self.pipeline is None:
            return self._startup_error or "starting"
        status = self.pipeline.status()
        source = status.source
        state = str(getattr(source, "state", ""))
        if state in ("failed", "stalled", "unavailable"):
            return f"{state}: {getattr(source, 'detail', '')}".strip(": ")
        return status.last_error
