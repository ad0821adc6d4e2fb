"""The camera scanning loop: frame source → decoder → frame tracker → ScanningService.scan → callback.

It runs on its own worker thread, so the UI (Kivy thread) only ever calls non-blocking methods: `start`,
`latest_frame` (for the preview), `status`, `set_gate` and `stop(timeout=0)`. `on_scan` is called on the worker
thread: the UI must hop to its own thread (Kivy: `Clock.schedule_once`). Nothing a frame or the store does can end
the loop: a bad frame or a decoder error is counted and reported in `status`; a busy store is retried with backoff
(counted in `status`), and a store error that outlasts the retries is handed to `on_scan` as an error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.domain.frame_tracker import FrameTracker, TrackerRules
from kiosk.domain.model import Direction
from kiosk.services.ports import CodeRead, Decoder, Frame, FrameSource, SourceStatusView
from kiosk.services.scanning import ScanResult
from kiosk.services.store_retry import DEFAULT_BACKOFF, Backoff, BusyMeter, retry_store

log = logging.getLogger(__name__)

# A camera that is stalled or unavailable comes back by itself; these states do not.
_FINAL = ("ended", "stopped", "failed")  # kiosk.adapters.camera.SourceState values
ScanFn = Callable[[str, str, Direction], ScanResult]
# The same with the decoder's symbology ("qr_code"…), which a refused scan keeps in its trace.
SymbologyScanFn = Callable[[str, str, Direction, str], ScanResult]


@dataclass(frozen=True)
class ScanEvent:
    """One new scan from the camera: its verdict, or the error that kept it from getting one."""

    code: str
    format: str
    result: ScanResult | None
    error: str | None = None


@dataclass(frozen=True)
class PipelineStatus:
    source: SourceStatusView
    running: bool
    frames: int  # frames decoded
    scans: int
    decode_errors: int
    last_error: str
    last_decode_ms: float
    in_view: int  # codes the tracker currently considers in view
    store_retries: int = 0  # scans tried again because the store was busy
    store_gave_up: int = 0  # scans still busy after every try (the door was shown the error)


class ScannerPipeline:
    def __init__(
        self,
        source: FrameSource,
        decoder: Decoder,
        scan: ScanFn,
        on_scan: Callable[[ScanEvent], None],
        *,
        gate: str = "main",
        direction: Direction = Direction.ENTRY,
        tracker_rules: TrackerRules | None = None,
        clock: Callable[[], float] = time.monotonic,
        backoff: Backoff = DEFAULT_BACKOFF,
        scan_symbology: SymbologyScanFn | None = None,
    ) -> None:
        self._source = source
        self._scan_symbology = scan_symbology  # used instead of `scan` when given
        self._backoff = backoff
        self.busy = BusyMeter()
        self._decoder = decoder
        self._scan = scan
        self._on_scan = on_scan
        self._gate = (gate, direction)
        self._tracker = FrameTracker(tracker_rules or TrackerRules())
        self._clock = clock
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._frames = self._scans = self._errors = 0
        self._last_error = ""
        self._last_ms = 0.0
        self._in_view = 0

    # --- called from the UI thread: none of these wait for a frame or a decode ---

    def start(self) -> None:
        if self._thread is None:
            self._source.start()
            self._thread = threading.Thread(target=self._run, name="scanner-pipeline", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop scanning; wait at most `timeout` s for the threads (the UI passes 0 and never waits)."""
        self._stop.set()
        self._source.stop(timeout)
        if self._thread is not None and timeout > 0:
            self._thread.join(timeout)

    def set_gate(self, gate: str, direction: Direction = Direction.ENTRY) -> None:
        with self._lock:
            self._gate = (gate, direction)

    def latest_frame(self) -> Frame | None:
        return self._latest

    def status(self) -> PipelineStatus:
        busy = self.busy.view()
        with self._lock:
            return PipelineStatus(
                self._source.status(),
                self._thread is not None and not self._done.is_set(),
                self._frames,
                self._scans,
                self._errors,
                self._last_error,
                self._last_ms,
                self._in_view,
                busy.retries,
                busy.gave_up,
            )

    def wait_done(self, timeout: float | None = None) -> bool:
        """For files and tests: wait until the source has ended and its last frame was handled."""
        return self._done.wait(timeout)

    # --- the worker thread ---

    def _run(self) -> None:
        seq = 0
        try:
            while not self._stop.is_set():
                item = self._source.next_frame(seq, timeout=0.25)
                if item is None:
                    if self._source.status().state in _FINAL:
                        break
                    continue
                seq, frame = item
                self._latest = frame
                self._handle(frame)
        finally:
            self._done.set()

    def _handle(self, frame: Frame) -> None:
        t0 = time.perf_counter()
        try:
            codes = self._decoder.decode(frame)
        except Exception as exc:  # corrupt frame or decoder fault: count it, keep scanning
            with self._lock:
                self._errors += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
            codes = []
        ms = (time.perf_counter() - t0) * 1000.0
        by_text: dict[str, CodeRead] = {}
        for c in codes:
            by_text.setdefault(c.text, c)
        new = self._tracker.observe(by_text, self._clock())
        with self._lock:
            self._frames += 1
            self._last_ms = ms
            self._in_view = len(self._tracker.in_view())
            gate, direction = self._gate
        for text in new:
            self._emit(text, by_text[text].format, gate, direction)

    def _emit(self, text: str, fmt: str, gate: str, direction: Direction) -> None:
        try:
            with_format = self._scan_symbology
            result = retry_store(
                (lambda: with_format(text, gate, direction, fmt))
                if with_format is not None
                else (lambda: self._scan(text, gate, direction)),
                backoff=self._backoff,
                meter=self.busy,
                wait=self._stop.wait,
                what="camera scan",
            )
            event = ScanEvent(text, fmt, result)
        except Exception as exc:  # the store may be locked or full: the door must see it, the loop must go on
            log.exception("scan of a camera code failed")
            event = ScanEvent(text, fmt, None, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._scans += 1
        try:
            self._on_scan(event)
        except Exception:  # a broken UI callback must not stop the door from scanning
            log.exception("on_scan callback failed")
