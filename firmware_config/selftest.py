"""Device self-test: camera, decoder, printer, broker, clock, disk and database, as a pass/fail table.

Each check is a function returning a `CheckResult` and never raises: a technician reads one table, and the
command exits non-zero if anything failed. The printer is asked with `~HS` over its raw TCP port; the broker
with a real MQTT v5 CONNECT using the device's credentials (a separate client id, so the running agent's
session is not taken over).
"""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from firmware_config.clock import last_central_time
from firmware_config.schema import BrokerConfig, KioskConfig, PrinterConfig
from kiosk.domain.clock import Clock, system_clock

# A device clock may trail central's last message by a little (central stamps before sending); more is wrong.
CLOCK_BEHIND_TOLERANCE = timedelta(minutes=5)
# Firmware built in 2026: a clock before this is an RTC that lost power.
CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    skipped: bool = False

    @property
    def status(self) -> str:
        return "SKIP" if self.skipped else ("PASS" if self.ok else "FAIL")


@dataclass(frozen=True)
class SelftestOptions:
    timeout: float = 3.0
    min_free_mb: int = 200
    min_free_percent: float = 5.0
    camera_source: str | None = None  # a video file instead of the configured device (tests, bench)
    camera_frames: int = 10
    expect_code: str | None = None  # a code the technician holds in front of the camera (e.g. a printed test card)
    now: Clock = system_clock


def _timed(name: str, check: Callable[[], tuple[bool, str]]) -> CheckResult:
    start = time.monotonic()
    try:
        ok, detail = check()
    except Exception as exc:  # a self-test reports every failure as a row, it never dies on one
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return CheckResult(name, ok, detail, time.monotonic() - start)


# --- printer ---------------------------------------------------------------------------------------------


def check_printer(printer: PrinterConfig, timeout: float) -> tuple[bool, str]:
    """Ask the printer's status the way the kiosk will (the shared Zebra/CUPS adapters): ~HS, then ~HQES."""
    from kiosk.adapters.zebra import PrinterStatus, ZebraPrinter

    status: PrinterStatus
    if printer.transport == "cups":
        from kiosk.adapters.cups_printer import CupsPrinter

        where = f"CUPS queue {printer.cups_queue}"
        status = CupsPrinter(str(printer.cups_queue)).status()
    else:
        where = f"{printer.host}:{printer.port}"
        zebra = ZebraPrinter(printer.host, printer.port, connect_timeout=timeout, read_timeout=timeout)
        status = zebra.host_status()
    if not status.reachable:
        return False, f"{where}: unreachable or no status answer ({status.detail})"
    if not status.ready:
        return False, f"{where}: answers ~HS but is not ready: {', '.join(status.faults)}"
    waiting = f", {status.formats_in_buffer} label(s) waiting" if status.formats_in_buffer else ""
    return True, f"{where}: ready{waiting}"


# --- broker ----------------------------------------------------------------------------------------------


def check_broker(broker: BrokerConfig, client_id: str, timeout: float) -> tuple[bool, str]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.properties import Properties

    where = f"{broker.host}:{broker.port}"
    result: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Properties | None) -> None:
        result["reason"] = reason

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_connect = on_connect
    if broker.username:
        password = broker.password.get_secret_value() if broker.password else None
        client.username_pw_set(broker.username, password)
    if broker.tls:
        client.tls_set(
            ca_certs=str(broker.ca_file) if broker.ca_file else None,
            certfile=str(broker.client_cert) if broker.client_cert else None,
            keyfile=str(broker.client_key) if broker.client_key else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    try:
        client.connect(broker.host, broker.port, keepalive=10)
    except (OSError, ssl.SSLError) as exc:
        return False, f"{where}: unreachable ({getattr(exc, 'strerror', None) or exc})"
    deadline = time.monotonic() + timeout
    try:
        while "reason" not in result and time.monotonic() < deadline:
            if client.loop(timeout=0.05) not in (mqtt.MQTT_ERR_SUCCESS,):
                break
    finally:
        client.disconnect()
    reason = result.get("reason")
    if reason is None:
        return False, f"{where}: connection closed or no CONNACK within {timeout:g} s"
    if reason.is_failure:
        return False, f"{where}: connection refused by the broker: {reason}"
    user = f" as {broker.username}" if broker.username else " (anonymous)"
    return True, f"{where}: connected{user}, MQTT v5"


# --- camera ----------------------------------------------------------------------------------------------


def _decode_test_code(size: tuple[int, int]) -> tuple[bool, str]:
    """Decode a generated test ticket at the camera's frame size through the kiosk's own decoder."""
    text = "SELFTEST-" + secrets.token_hex(4).upper()
    from kiosk.adapters.decoder import still_decoder
    from kiosk.demo.frame_synth import TicketScene, render_scene

    frame = render_scene(TicketScene(text=text, size=size, code_height=0.5))
    found = [code.text for code in still_decoder().decode(frame)]
    return text in found, f"test code {'decoded' if text in found else 'NOT decoded'}"


def _grab(source: Any, count: int, timeout: float, until: Callable[[Any], bool] | None = None) -> list[Any]:
    """Up to `count` frames within `timeout` s; stops early once `until(frame)` is true."""
    frames: list[Any] = []
    source.start()
    try:
        deadline, after = time.monotonic() + timeout, 0
        while len(frames) < count and time.monotonic() < deadline:
            got = source.next_frame(after, timeout=min(max(deadline - time.monotonic(), 0.01), 0.2))
            if got is None:
                if str(source.status().state) in ("ended", "failed"):
                    break  # a video file that has no more frames
                continue
            after, frame = got
            frames.append(frame)
            if until is not None and until(frame):
                break
    finally:
        source.stop()
    return frames


def check_camera(config: KioskConfig, options: SelftestOptions) -> tuple[bool, str]:
    """Frames arrive from the configured camera (the kiosk's own frame source), and a test code decodes."""
    from kiosk.adapters.camera import CameraSettings, OpenCvCamera, VideoFileSource

    camera = config.camera
    source: Any
    if options.camera_source is not None:
        name, source = options.camera_source, VideoFileSource(options.camera_source)
    else:
        settings = CameraSettings(camera.device, camera.width, camera.height, camera.fps, camera.mjpg)
        name, source = str(camera.device), OpenCvCamera(settings)
    seen: set[str] = set()
    until = None
    count, timeout = options.camera_frames, max(options.timeout, 1.0)
    if options.expect_code is not None:
        from kiosk.adapters.decoder import camera_decoder

        decoder = camera_decoder()
        expected = options.expect_code

        def until(frame: Any) -> bool:
            seen.update(code.text for code in decoder.decode(frame))
            return expected in seen

        count, timeout = max(count, 5 * camera.fps), max(timeout, 5.0)  # give the technician a few seconds
    start = time.monotonic()
    frames = _grab(source, count, timeout, until)
    elapsed = time.monotonic() - start
    if not frames:
        status = source.status()
        return False, f"camera {name}: no frames ({status.detail or status.state}; unplugged, busy, wrong device?)"
    height, width = frames[0].shape[:2]
    decoded_ok, decoded = _decode_test_code((width, height))
    detail = f"camera {name}: {len(frames)} frames {width}x{height} in {elapsed:.2f} s; {decoded}"
    if options.expect_code is None:
        return decoded_ok, detail
    if options.expect_code in seen:
        return decoded_ok, f"{detail}; held-up code {options.expect_code} read by the camera"
    others = f" (read instead: {', '.join(sorted(seen))})" if seen else ""
    return False, f"{detail}; held-up code {options.expect_code} NOT read by the camera{others}"


# --- clock, disk, database -------------------------------------------------------------------------------


def last_recorded_time(database: Path) -> datetime | None:
    """The newest time this device itself wrote into its store (an outbox event, the sync status row)."""
    if not database.exists():
        return None
    latest: datetime | None = None
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        for sql in ("SELECT max(occurred_at) FROM outbox", "SELECT max(updated_at) FROM sync_status"):
            try:
                value = connection.execute(sql).fetchone()[0]
                when = datetime.fromisoformat(str(value)) if value else None
            except (sqlite3.Error, ValueError):
                continue  # an older store without that table, or a damaged value: the database check reports it
            if when is not None and when.tzinfo is not None and (latest is None or when > latest):
                latest = when
    finally:
        connection.close()
    return latest


def check_clock(state_dir: Path, now: datetime, database: Path | None = None) -> tuple[bool, str]:
    """Not before the firmware, not behind central's last message, not behind what this device already recorded.

    The last rule catches an RTC that lost power even before central was ever reached: scans would otherwise be
    stamped earlier than the ones before them.
    """
    if now < CLOCK_FLOOR:
        return False, f"clock says {now:%Y-%m-%d %H:%M} UTC, before this firmware was built: set the time"
    seen = last_central_time(state_dir)
    if seen is not None and now < seen - CLOCK_BEHIND_TOLERANCE:
        return False, f"clock {now:%Y-%m-%d %H:%M} UTC is behind central's last time {seen:%Y-%m-%d %H:%M} UTC"
    recorded = last_recorded_time(database) if database is not None else None
    if recorded is not None and now < recorded - CLOCK_BEHIND_TOLERANCE:
        return False, (
            f"clock {now:%Y-%m-%d %H:%M} UTC is behind this device's own last record {recorded:%Y-%m-%d %H:%M} UTC "
            "(clock went back: RTC battery?)"
        )
    central = f"central last seen {seen:%Y-%m-%d %H:%M:%S} UTC" if seen else "central not heard from yet"
    return True, f"{now:%Y-%m-%d %H:%M:%S} UTC; {central}"


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(paths: Iterable[Path], min_free_mb: int, min_free_percent: float) -> tuple[bool, str]:
    details, ok = [], True
    for path in dict.fromkeys(_existing(Path(p)) for p in paths):
        usage = shutil.disk_usage(path)
        free_mb, percent = usage.free // 2**20, 100 * usage.free / usage.total if usage.total else 0.0
        enough = free_mb >= min_free_mb and percent >= min_free_percent
        ok = ok and enough
        details.append(f"{path}: {free_mb} MB free ({percent:.0f}%){'' if enough else ' — TOO LOW'}")
    return ok, "; ".join(details)


def check_database(path: Path) -> tuple[bool, str]:
    if not path.exists():
        return False, f"{path}: no database (run the kiosk once, or restore it)"
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return False, f"{path}: {exc}"
    finally:
        connection.close()
    if rows != ["ok"]:
        return False, f"{path}: integrity check failed: {'; '.join(rows[:3])}"
    return check_store_room(path)


def check_store_room(path: Path) -> tuple[bool, str]:
    """The WAL stays small and the space reserve is there (gone = the disk was full at least once)."""
    from kiosk.adapters.store.engine import JOURNAL_SIZE_LIMIT
    from kiosk.adapters.store.space import reserve_path

    wal = path.with_name(path.name + "-wal")
    wal_kb = wal.stat().st_size // 1024 if wal.exists() else 0
    problems = []
    if wal_kb * 1024 > 4 * JOURNAL_SIZE_LIMIT:
        problems.append(f"write-ahead log is {wal_kb} KB: checkpoints are not keeping up (a reader left open?)")
    if not reserve_path(path).exists():
        problems.append("the space reserve was used up: the disk was full; free space, then restart the kiosk")
    if problems:
        return False, f"{path}: integrity ok, but " + "; ".join(problems)
    return True, f"{path}: integrity ok, WAL {wal_kb} KB, space reserve in place"


def with_wipe_request(result: tuple[bool, str], database: Path) -> tuple[bool, str]:
    """A wipe central asked for waits for the technician: said first in the database line, whatever its result."""
    from firmware_config.wipe_request import read_pending_wipe

    request = read_pending_wipe(database)
    if request is None:
        return result
    return result[0], f"WIPE REQUESTED ({request.describe()}): confirm with kiosk-provision wipe; {result[1]}"


# --- the run ---------------------------------------------------------------------------------------------

CHECKS = ("camera", "printer", "broker", "clock", "disk", "database")


def run_selftest(
    config: KioskConfig, options: SelftestOptions | None = None, only: Iterable[str] = CHECKS
) -> list[CheckResult]:
    options = options or SelftestOptions()
    wanted = set(only)
    client_id = f"{config.device.id or 'kiosk'}-selftest-{secrets.token_hex(3)}"
    state, database = config.paths.state_dir, config.paths.database
    runs: dict[str, Callable[[], tuple[bool, str]]] = {
        "camera": lambda: check_camera(config, options),
        "printer": lambda: check_printer(config.printer, options.timeout),
        "broker": lambda: check_broker(config.broker, client_id, options.timeout),
        "clock": lambda: check_clock(state, options.now(), database),
        "disk": lambda: check_disk([state, database.parent], options.min_free_mb, options.min_free_percent),
        "database": lambda: with_wipe_request(check_database(database), database),
    }
    results = []
    for name in CHECKS:
        if name not in wanted:
            continue
        if name == "printer" and not config.device.can_sell:
            results.append(CheckResult(name, True, "door-only device: no printer needed", skipped=True))
            continue
        results.append(_timed(name, runs[name]))
    return results


def format_table(results: list[CheckResult]) -> str:
    width = max([len(r.name) for r in results] + [5])
    lines = [f"{'CHECK':<{width}}  RESULT  TIME    DETAIL"]
    for r in results:
        lines.append(f"{r.name:<{width}}  {r.status:<6}  {r.seconds:5.2f}s  {r.detail}")
    failed = [r.name for r in results if not r.ok]
    lines.append(f"\n{'FAILED: ' + ', '.join(failed) if failed else 'ALL PASSED'} ({len(results)} checks)")
    return "\n".join(lines)
