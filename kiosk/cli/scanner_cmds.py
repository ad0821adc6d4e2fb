"""Sub-commands of the scanner capability: `decode` (images → codes) and `scan` (headless camera pipeline)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from kiosk.cli.output import CliError, emit


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("decode", help="decode barcodes in image files; one JSON object per file")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.set_defaults(func=cmd_decode)

    from kiosk.domain.timeutil import parse_instant

    p = sub.add_parser("scan", help="run the camera pipeline headless; one JSON verdict per scan")
    p.add_argument("--db", required=True, type=Path)
    p.add_argument("--source", required=True, help="video file, image folder, camera index or /dev/video path")
    p.add_argument("--gate", default="main")
    p.add_argument("--exit", action="store_true", help="record exits instead of entries")
    p.add_argument("--device", help="the store's device id (scans are recorded under it; another one is refused)")
    p.add_argument("--realtime", action="store_true", help="play a video at its frame rate (default: every frame)")
    p.add_argument("--seconds", type=float, help="stop after this long (cameras run until Ctrl-C otherwise)")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--no-mjpg", action="store_true", help="do not ask the camera for MJPG")
    p.add_argument("--now", type=parse_instant, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_scan)


def cmd_decode(args: argparse.Namespace) -> int:
    from kiosk.adapters.camera import read_image
    from kiosk.adapters.decoder import FrameError, still_decoder

    decoder = still_decoder()
    unreadable = 0
    for path in args.files:
        t0 = time.perf_counter()
        out: dict[str, Any] = {"file": str(path), "codes": []}
        try:
            codes = decoder.decode(read_image(path))
            out["codes"] = [{"format": c.format, "text": c.text} for c in codes]
        except (OSError, ValueError, FrameError) as exc:
            unreadable += 1
            out["error"] = str(exc) if not isinstance(exc, OSError) else f"{path.name}: {exc.strerror or exc}"
        out["ms"] = round((time.perf_counter() - t0) * 1000.0, 2)
        emit(out)
    return 3 if unreadable else 0


def _open_source(args: argparse.Namespace) -> tuple[Any, float | None]:
    """The frame source for --source, and the frame rate of its timeline when frames are not real time."""
    from kiosk.adapters.camera import CameraSettings, ImageFolderSource, OpenCvCamera, VideoFileSource

    spec: str = args.source
    path = Path(spec)
    if spec.isdigit() or spec.startswith("/dev/"):
        try:
            settings = CameraSettings(
                int(spec) if spec.isdigit() else spec, args.width, args.height, args.fps, not args.no_mjpg
            )
        except ValueError as exc:
            raise CliError(str(exc), 2) from exc
        return OpenCvCamera(settings), None
    if path.is_dir():
        return ImageFolderSource(path), 30.0  # each image is one frame of a 30 fps timeline
    if path.is_file():
        import cv2

        cap = cv2.VideoCapture(str(path))
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
        cap.release()
        if not fps:
            raise CliError(f"{path}: not a readable video", 2)
        return VideoFileSource(path, realtime=args.realtime), None if args.realtime else float(fps)
    raise CliError(f"--source {spec}: no such file, folder or camera", 2)


def _timeline(fps: float | None) -> Callable[[], float]:
    """Frames of a file handled faster than real time are timed by their place in the file, not the wall clock."""
    if fps is None:
        return time.monotonic
    count = [0]

    def clock() -> float:
        count[0] += 1
        return count[0] / fps

    return clock


def cmd_scan(args: argparse.Namespace) -> int:
    from kiosk.adapters.decoder import camera_decoder
    from kiosk.adapters.store.engine import StoreError, open_store
    from kiosk.adapters.store.identity import IdentityError, writer_device
    from kiosk.cli.store_cmds import verdict_json
    from kiosk.compose_services import scanning_service
    from kiosk.domain.model import Direction
    from kiosk.services.scanner_pipeline import ScanEvent, ScannerPipeline

    source, timeline_fps = _open_source(args)
    try:
        store = open_store(args.db)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
    try:
        device = writer_device(store, args.device).device_id  # the store's own id, never a default
    except (StoreError, IdentityError) as exc:
        store.close()
        raise CliError(str(exc)) from exc
    # The frame tracker already turns a code held in view into one scan; a file played faster than real time
    # (or a clock pinned by --now, which never moves) must not have its re-shown codes hidden by the debounce.
    debounce = timedelta(0) if args.now or timeline_fps else timedelta(seconds=3)
    service = scanning_service(store, device, clock=args.clock, debounce=debounce)
    out_lock = threading.Lock()

    def on_scan(event: ScanEvent) -> None:
        with out_lock:
            if event.result is None:
                emit({"code": event.code[:200], "format": event.format, "error": event.error})
            else:
                emit({**verdict_json(event.result, event.code), "format": event.format})

    pipeline = ScannerPipeline(
        source,
        camera_decoder(),
        service.scan,
        on_scan,
        gate=args.gate,
        direction=Direction.EXIT if args.exit else Direction.ENTRY,
        clock=_timeline(timeline_fps),
    )
    pipeline.start()
    try:
        _run_until_done(pipeline, args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        before = pipeline.status().source  # how the source was doing before we stopped it
        pipeline.stop()
        store.close()
    status = pipeline.status()
    source = status.source if before.state == "running" else before
    summary = {
        "source": args.source,
        "state": str(source.state),
        "detail": source.detail,
        "mode": source.mode,
        "frames": status.frames,
        "scans": status.scans,
        "bad_frames": status.source.bad_frames,
        "decode_errors": status.decode_errors,
        "last_error": status.last_error,
    }
    print(f"kiosk scan: {summary}", file=sys.stderr)
    return 1 if source.state in ("failed", "unavailable") else 0


def _run_until_done(pipeline: Any, seconds: float | None) -> None:
    deadline = None if seconds is None else time.monotonic() + seconds
    last_state = ""
    while not pipeline.wait_done(0.2):
        state = pipeline.status().source
        if state.state.value != last_state:  # tell a technician when the camera goes away and comes back
            last_state = state.state.value
            print(f"kiosk scan: source {last_state} {state.detail}".rstrip(), file=sys.stderr)
        if deadline is not None and time.monotonic() >= deadline:
            return
