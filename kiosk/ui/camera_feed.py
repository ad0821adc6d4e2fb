"""The door screen's view of the camera: the scanner pipeline (kiosk.services.scanner_pipeline) plus the preview.

The pipeline decodes and scans on its own thread and reports each new scan through `on_scan` (on that thread);
the preview takes the newest frame at its own pace (~15 fps) and skips the others, so a slow display never delays
a scan and a slow decode never freezes the preview.
"""

from __future__ import annotations

from typing import Any

import cv2

from kiosk.domain.model import Direction

PREVIEW_WIDTH = 640  # the preview box is ~800 px wide; shrinking first keeps the texture upload small


class CameraFeed:
    """Wraps a started-on-demand ScannerPipeline for the screens (door preview, technician camera test)."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self._last_raw: Any = None
        self._small: Any = None
        self._seq = 0
        self.last_codes: list[str] = []

    def start(self) -> None:
        self.pipeline.start()

    def stop(self) -> None:
        self.pipeline.stop()

    def set_direction(self, gate: str, direction: str) -> None:
        self.pipeline.set_gate(gate, Direction(direction))

    def latest(self) -> tuple[int, Any]:
        """(sequence, BGR preview frame); the sequence changes when a new camera frame arrived."""
        raw = self.pipeline.latest_frame()
        if raw is None:
            return self._seq, None
        if raw is not self._last_raw:
            self._last_raw = raw
            h, w = raw.shape[:2]
            if w > PREVIEW_WIDTH:
                raw = cv2.resize(raw, (PREVIEW_WIDTH, int(h * PREVIEW_WIDTH / w)), interpolation=cv2.INTER_AREA)
            self._small = raw
            self._seq += 1
        return self._seq, self._small

    def note_code(self, text: str) -> None:
        self.last_codes = [text, *self.last_codes[:2]]

    @property
    def frames_read(self) -> int:
        return int(self.pipeline.status().frames)

    @property
    def decode_ms(self) -> float:
        return float(self.pipeline.status().last_decode_ms)

    @property
    def error(self) -> str:
        status = self.pipeline.status()
        source = status.source
        state = str(getattr(source, "state", ""))
        if state in ("failed", "stalled", "unavailable"):
            return f"{state}: {getattr(source, 'detail', '')}".strip(": ")
        return status.last_error
