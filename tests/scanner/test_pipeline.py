"""The camera scanning loop end to end: real decoder, real SQLite store, generated frames and videos."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.adapters.camera import FakeFrameSource, SourceState, VideoFileSource
from kiosk.adapters.decoder import DecodedCode, FakeDecoder, camera_decoder
from kiosk.adapters.store.engine import Store
from kiosk.compose_services import scanning_service
from kiosk.demo import frame_synth as fs
from kiosk.demo.venue import DemoVenue
from kiosk.domain.model import Direction
from kiosk.services.scanner_pipeline import ScanEvent, ScannerPipeline
from kiosk.services.scanning import ScanningService
from tests.scanner.conftest import list_code, signed_code

SIZE = (640, 360)


def frame_clock(fps: float = 30.0) -> Callable[[], float]:
    n = [0]

    def clock() -> float:
        n[0] += 1
        return n[0] / fps

    return clock


@pytest.fixture
def service(demo_venue: tuple[Store, DemoVenue], demo_now: datetime) -> ScanningService:
    store, _ = demo_venue
    return scanning_service(store, "door-1", clock=lambda: demo_now, debounce=timedelta(0))


@pytest.fixture
def venue(demo_venue: tuple[Store, DemoVenue]) -> DemoVenue:
    return demo_venue[1]


def ticket(code: str, **kw: Any) -> np.ndarray:
    return fs.render_scene(fs.TicketScene(code, size=SIZE, code_height=0.6, jpeg_quality=0, **kw))


def run(pipeline: ScannerPipeline, timeout: float = 30) -> None:
    pipeline.start()
    assert pipeline.wait_done(timeout), "pipeline did not finish"
    pipeline.stop()


def collect() -> tuple[list[ScanEvent], Callable[[ScanEvent], None]]:
    events: list[ScanEvent] = []
    return events, events.append


def test_held_ticket_scans_once_and_reshown_reads_already_used(service: ScanningService, venue: DemoVenue) -> None:
    code = signed_code(venue)
    empty, shown = fs.background(SIZE, 1), ticket(code)
    script = [empty] * 3 + [shown] * 12 + [empty] * 20 + [shown] * 6
    events, on_scan = collect()
    p = ScannerPipeline(FakeFrameSource(script), camera_decoder(), service.scan, on_scan, clock=frame_clock())
    run(p)
    assert [(e.code, e.result.verdict.code.value if e.result else e.error) for e in events] == [
        (code, "valid"),
        (code, "already_used"),
    ]
    st = p.status()
    assert st.frames == len(script) and st.scans == 2 and st.decode_errors == 0
    assert st.source.state == SourceState.ENDED


def test_two_tickets_in_one_frame_are_each_checked_in(service: ScanningService, venue: DemoVenue) -> None:
    a, b = signed_code(venue), list_code(venue)
    left = fs.render_scene(fs.TicketScene(a, size=(1280, 720), center=(0.27, 0.5), code_height=0.5, seed=2))
    right = fs.render_scene(fs.TicketScene(b, size=(1280, 720), center=(0.75, 0.5), code_height=0.4, seed=2))
    both = np.concatenate([left[:, :640], right[:, 640:]], axis=1)
    events, on_scan = collect()
    run(ScannerPipeline(FakeFrameSource([both] * 4), camera_decoder(), service.scan, on_scan, clock=frame_clock()))
    assert sorted((e.code, e.result.verdict.code.value) for e in events if e.result) == sorted(
        [(a, "valid"), (b, "valid")]
    )


def test_bad_frames_and_decoder_faults_never_stop_the_loop(service: ScanningService, venue: DemoVenue) -> None:
    code = list_code(venue)
    good = np.zeros((48, 64, 3), np.uint8)
    script: list[Any] = [good, None, RuntimeError("USB reset"), np.zeros((5, 5), np.float32), good, good, good]
    decoder = FakeDecoder([[], RuntimeError("zxing crashed"), ValueError("bad"), [code]])
    events, on_scan = collect()
    p = ScannerPipeline(FakeFrameSource(script), decoder, service.scan, on_scan, clock=frame_clock())
    run(p)
    st = p.status()
    assert [e.result.verdict.code.value for e in events if e.result] == ["valid"]
    assert st.decode_errors == 2 and st.last_error == "ValueError: bad"
    assert st.source.bad_frames == 3 and st.frames == 4


def test_store_failure_is_reported_as_an_event_and_scanning_goes_on(venue: DemoVenue) -> None:
    calls: list[str] = []

    def flaky_scan(text: str, gate: str, direction: Direction) -> Any:
        calls.append(text)
        if len(calls) == 1:
            raise OSError("database or disk is full")
        return None

    events, on_scan = collect()
    decoder = FakeDecoder([["A1"], [], [], [], [], [], [], [], ["B2"]])
    src = FakeFrameSource([np.zeros((16, 16), np.uint8)] * 9)
    run(ScannerPipeline(src, decoder, flaky_scan, on_scan, clock=frame_clock()))
    assert calls == ["A1", "B2"]
    assert events[0].error is not None and "disk is full" in events[0].error
    assert events[1].error is None


def test_a_failing_callback_does_not_stop_scanning(service: ScanningService, venue: DemoVenue) -> None:
    seen: list[str] = []

    def on_scan(e: ScanEvent) -> None:
        seen.append(e.code)
        raise RuntimeError("UI gone")

    decoder = FakeDecoder([["X1"], [], [], [], [], [], [], ["Y2"]])
    src = FakeFrameSource([np.zeros((16, 16), np.uint8)] * 8)
    p = ScannerPipeline(src, decoder, service.scan, on_scan, clock=frame_clock())
    run(p)
    assert seen == ["X1", "Y2"] and p.status().scans == 2


def test_ui_calls_never_wait_for_a_slow_decode() -> None:
    release = threading.Event()

    class SlowDecoder:
        def decode(self, frame: np.ndarray) -> list[DecodedCode]:
            release.wait(5)
            return []

    frames = [np.full((16, 16), i, np.uint8) for i in range(3)]
    p = ScannerPipeline(FakeFrameSource(frames, fps=100), SlowDecoder(), lambda *a: None, lambda e: None)  # type: ignore[arg-type]
    p.start()
    time.sleep(0.1)  # the worker is now stuck inside a decode that lasts up to 5 s
    t0 = time.perf_counter()
    for _ in range(100):
        p.status()
        p.latest_frame()
        p.set_gate("vip")
    elapsed = time.perf_counter() - t0
    running = p.status().running
    release.set()
    p.stop()
    assert running and elapsed < 0.5, f"UI thread calls took {elapsed:.3f} s"
    assert p.latest_frame() is not None


def test_gate_change_applies_to_the_next_scan(service: ScanningService, venue: DemoVenue) -> None:
    code = list_code(venue)
    decoder = FakeDecoder([[code]])
    events, on_scan = collect()
    p = ScannerPipeline(FakeFrameSource([np.zeros((16, 16), np.uint8)]), decoder, service.scan, on_scan)
    p.set_gate("vip")
    run(p)
    assert events[0].result is not None and events[0].result.gate == "vip"
    assert events[0].result.verdict.code.value == "not_on_this_list"


@pytest.fixture
def demo_video(tmp_path: Path, venue: DemoVenue) -> Iterator[tuple[Path, list[tuple[str, str]]]]:
    valid_signed, valid_list = signed_code(venue), list_code(venue)
    forged = signed_code(venue, "invalid_signature")
    tomorrow = next(c for c, v in venue.expected if v == "wrong_performance")
    plan = [
        (valid_signed, "valid"),
        (valid_list, "valid"),
        (forged, "invalid_signature"),
        (tomorrow, "wrong_performance"),
        (valid_signed, "already_used"),
    ]
    path = fs.make_demo_video(
        [c for c, _ in plan], tmp_path / "door.avi", size=(1280, 720), fps=10, hold_seconds=0.8, gap_seconds=0.8
    )
    yield path, plan


def test_demo_video_through_the_whole_pipeline(service: ScanningService, demo_video: tuple[Path, list[Any]]) -> None:
    path, plan = demo_video
    events, on_scan = collect()
    p = ScannerPipeline(VideoFileSource(path), camera_decoder(), service.scan, on_scan, clock=frame_clock(10))
    run(p)
    assert [(e.code, e.result.verdict.code.value if e.result else e.error) for e in events] == plan


def test_stop_with_no_timeout_returns_at_once_even_with_a_hung_decode() -> None:
    release = threading.Event()

    class HungDecoder:
        def decode(self, frame: np.ndarray) -> list[DecodedCode]:
            release.wait(5)
            return []

    p = ScannerPipeline(
        FakeFrameSource([np.zeros((16, 16), np.uint8)] * 3),
        HungDecoder(),
        lambda *a: None,  # type: ignore[arg-type]
        lambda e: None,
    )
    p.start()
    time.sleep(0.1)
    t0 = time.perf_counter()
    p.stop(timeout=0)
    assert time.perf_counter() - t0 < 0.2
    release.set()
    assert p.wait_done(5)  # and the worker ends by itself once the decode returns
