"""The one place that picks concrete adapters: the embedded demo venue, or the devices a config file names.

`compose_demo` builds a demo store (catalog, tickets, keys), a simulated camera playing a generated video of the
demo's tickets and the printer emulator in-process. `compose_from_config` opens the configured store, camera and
printer; if the config cannot be loaded it returns a safe-mode composition (technician screen with the problems)
instead of raising, so a broken file never makes systemd restart the app in a loop.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.adapters.sdnotify import SystemdNotifier
from kiosk.adapters.store.engine import Store, StoreError, open_store
from kiosk.adapters.store.identity import IdentityError, configured_device, own_device
from kiosk.compose_services import kiosk_status, scanning_service, selling_service
from kiosk.domain.clock import Clock, system_clock
from kiosk.services.app_services import AppServices, CameraFactory
from kiosk.services.ports import NoPrinting, PrintingPort
from kiosk.services.scanning import ScanningService
from kiosk.services.selling import SalesKey

# AppServices and CameraFactory are defined in the service layer (the UI imports them from there, never from here).
__all__ = [
    "AppServices",
    "CameraFactory",
    "compose_demo",
    "compose_from_config",
    "demo_expected",
    "safe_mode",
    "screenshot_demo",
]

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path(os.environ.get("KIOSK_CONFIG", "/etc/kiosk/kiosk.toml"))
DEMO_PIN = "1234"  # printed on the demo's PIN screen; real devices use the scrypt hash from the config
DEMO_TICKETS = 200


def demo_expected(db: Path) -> list[tuple[str, str]]:
    """The demo venue's codes with the verdict each should get at gate "main" when the venue was made."""
    return [(code, verdict) for code, verdict in json.loads(db.with_name(db.name + ".expected.json").read_text())]


def demo_codes(expected: list[tuple[str, str]]) -> list[str]:
    """A short reel for the simulated camera: one code of each expected verdict, valid ones first."""
    seen: dict[str, str] = {}
    for code, verdict in expected:
        seen.setdefault(verdict, code)
    valid = [c for c, v in expected if v == "valid"][:3]
    others = [c for v, c in seen.items() if v != "valid"]
    return valid + others


def pipeline_camera(open_source: Callable[[], Any]) -> CameraFactory:
    """A factory for the door screen: (scanning, gate, on_scan) → CameraFeed over a ScannerPipeline.

    `open_source` runs on the feed's start-up thread, never on the UI thread.
    """

    def make(scanning: ScanningService, gate: str, on_scan: Callable[[Any], None]) -> Any:
        from kiosk.adapters.decoder import camera_decoder
        from kiosk.services.scanner_pipeline import ScannerPipeline
        from kiosk.ui.camera_feed import CameraFeed

        return CameraFeed(
            lambda: ScannerPipeline(
                open_source(), camera_decoder(), scanning.scan, on_scan, gate=gate, scan_symbology=scanning.scan
            )
        )

    return make


def _release_freed_memory() -> None:
    """Give freed heap pages back to the OS (glibc keeps them otherwise); a no-op elsewhere."""
    import contextlib
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(name).malloc_trim(0)


def demo_video(video: Path, codes: list[str]) -> Path:
    """The demo camera's video of `codes`, made if missing (on the camera's thread, never the UI's)."""
    if not video.exists():
        from kiosk.demo.frame_synth import make_demo_video, release_caches

        partial = video.with_name("partial-" + video.name)
        try:
            make_demo_video(codes, partial, size=(1280, 720), fps=15, hold_seconds=1.2, gap_seconds=1.5)
        finally:
            release_caches()  # the drawing caches held ~85 MB for the app's life (bench/bench_memory.py)
        partial.replace(video)
        _release_freed_memory()  # drawing the frames churned a lot of large buffers
    return video


def video_camera(video: Path, codes: list[str] | None = None) -> CameraFactory:
    """The demo's simulated camera: a video of tickets (generated on first use from `codes`), in a loop."""

    def source() -> Any:
        from kiosk.adapters.camera import VideoFileSource

        if codes is not None:
            demo_video(video, codes)
        return VideoFileSource(video, realtime=True, loop=True)

    return pipeline_camera(source)


def device_camera(config: Any) -> CameraFactory:
    def source() -> Any:
        from kiosk.adapters.camera import CameraSettings, OpenCvCamera

        cam = config.camera
        return OpenCvCamera(CameraSettings(cam.device, cam.width, cam.height, cam.fps, cam.mjpg))

    return pipeline_camera(source)


def open_app_store(path: Path) -> Store:
    """The app's store, made if missing (the store itself skips Alembic when it is already current)."""
    return open_store(path, create=True)


def _demo_printing(workdir: Path, store: Store, clock: Clock) -> PrintingPort:
    try:
        from kiosk.compose_printing import demo_printing
    except ImportError as exc:
        log.warning("printing not available: %s", exc)
        return NoPrinting("not_configured")
    try:
        port: PrintingPort = demo_printing(workdir, store, clock)
    except Exception as exc:
        log.warning("printer emulator not started: %s", exc)
        return NoPrinting("unreachable")
    return port


def compose_demo(
    db: Path | None = None,
    *,
    now: datetime | None = None,
    role: str = "both",
    camera: bool = True,
    printing: bool = True,
    tickets: int = DEMO_TICKETS,
    reel: list[str] | None = None,
    clock: Clock = system_clock,
) -> AppServices:
    """The embedded demo venue: a fresh store, the demo catalog and tickets, a video camera, the printer emulator.

    `now` is when the demo venue is made (its performances are around it); `clock` is what the services read.
    """
    from kiosk.demo import venue as dv

    now = now or clock()
    db = db or Path(tempfile.mkdtemp(prefix="kiosk-demo-")) / "demo.sqlite"
    workdir = db.parent
    workdir.mkdir(parents=True, exist_ok=True)
    keys_file = db.with_name(db.name + ".issuer-keys.json")
    store = open_app_store(db)
    if not keys_file.exists():
        venue = dv.build_demo_venue(now, tickets, seed=7)
        dv.install_demo_venue(store, venue, keys_file, now)
        db.with_name(db.name + ".expected.json").write_text(json.dumps(venue.expected))
    codes = reel if reel is not None else demo_codes(demo_expected(db))
    keys = dv.read_private_keys(keys_file)
    sales_key = SalesKey(dv.SALES_KIOSK_KEY_ID, keys[dv.SALES_KIOSK_KEY_ID])
    device_id = own_device(store, "demo-kiosk-1", "demo", now=now, claimed_by="demo")  # the store's, if it has one
    port = _demo_printing(workdir, store, clock) if printing else NoPrinting()
    services = AppServices(
        device_id=device_id,
        gate="main",
        role=role,
        store=store,
        scanning=scanning_service(store, device_id, clock=clock),
        selling=selling_service(
            store, device_id, can_sell=role != "door", sales_key=sales_key, labels=port.labels, clock=clock
        ),
        status=kiosk_status(store),
        printing=port,
        demo=True,
        pin_check=lambda pin: pin == DEMO_PIN,
        idle_timeout_s=90.0,
        attended=True,  # the demo is a staffed counter: its invitations are shown, behind the demo PIN
        clock=clock,
        notifier=SystemdNotifier(),
    )
    services.closers += [store.close, port.close]
    if camera:
        video = workdir / f"demo-camera-{len(codes)}.avi"
        services.camera_factory = video_camera(video, codes)  # made on the camera's thread the first time
    return services


def screenshot_demo(db: Path) -> tuple[AppServices, list[tuple[str, str]]]:
    """The demo as `kiosk screenshots` films it: no camera, the printer emulator, and the verdicts to expect."""
    services = compose_demo(db, camera=False, printing=True)
    return services, demo_expected(db)


def safe_mode(problems: list[str], device_id: str = "?") -> AppServices:
    """No store, no scanning, no selling: only the technician screen with what is wrong."""
    return AppServices(
        device_id=device_id,
        gate="?",
        role="door",
        store=None,
        scanning=None,
        selling=None,
        status=None,
        printing=NoPrinting("not_configured"),
        config_problems=problems,
        safe_mode=True,
        pin_check=lambda _pin: True,  # the PIN hash lives in the broken config: the technician must get in
        notifier=SystemdNotifier(),
    )


def compose_from_config(path: Path, clock: Clock = system_clock) -> AppServices:
    """The configured device; any problem with the config or the store gives safe mode, never an exception."""
    try:
        from firmware_config.loader import ConfigError, load_config
    except ImportError as exc:  # pragma: no cover - the firmware_config package is part of this project
        return safe_mode([f"configuration support missing: {exc}"])
    try:
        config = load_config(path)
    except ConfigError as exc:
        return safe_mode([str(i) for i in exc.issues])
    except (OSError, ValueError) as exc:
        return safe_mode([f"{path}: {exc}"])
    try:
        store = open_app_store(Path(config.paths.database))
    except StoreError as exc:
        return safe_mode([str(exc)], config.device.id or "?")
    return _configured(config, store, clock)


def _configured(config: Any, store: Store, clock: Clock) -> AppServices:
    from firmware_config.pins import verify_pin

    try:  # the store's own device: a config naming another one would record scans central rejects
        found = configured_device(store, config.device.id, config.device.venue, config.device.role.value, now=clock())
    except (IdentityError, StoreError) as exc:
        store.close()
        return safe_mode([str(exc)], config.device.id or "?")
    device_id = found or "unprovisioned"
    problems: list[str] = []
    if found is None:
        problems.append("device.id: no device id yet; run `kiosk-provision firstboot`")
    sales_key = _device_sales_key(config, store, problems) if config.device.can_sell else None
    port = _configured_printing(config, store, problems, clock) if config.device.can_sell else NoPrinting()
    pin_hash = config.technician.pin_hash
    if pin_hash is None:
        problems.append("technician.pin_hash: not set, the technician screen is locked")
    services = AppServices(
        device_id=device_id,
        gate=config.device.gate,
        role=config.device.role.value,
        store=store,
        scanning=scanning_service(store, device_id, clock=clock) if config.device.can_scan else None,
        selling=selling_service(
            store, device_id, can_sell=config.device.can_sell, sales_key=sales_key, labels=port.labels, clock=clock
        ),
        status=kiosk_status(store),
        printing=port,
        config_problems=problems,
        pin_check=lambda pin: verify_pin(pin, pin_hash),
        languages=tuple(config.languages.offered),
        default_lang=config.languages.default,
        idle_timeout_s=float(config.ui.idle_timeout_s),
        attended=config.sales.attended,
        fullscreen=config.ui.fullscreen,
        clock=clock,
        notifier=SystemdNotifier(),
    )
    services.closers += [store.close, port.close]
    if config.device.can_scan:
        services.camera_factory = device_camera(config)
    return services


def _device_sales_key(config: Any, store: Store, problems: list[str]) -> SalesKey | None:
    """The device's first-boot Ed25519 key, usable once central lists its public half as an issuer key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kiosk.adapters.store.repositories import SqlCatalogStore
    from kiosk.domain.codes import public_key_bytes

    key_path = Path(config.paths.state_dir) / "identity" / "device_key.pem"
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        problems.append(f"sales key: {key_path}: {exc}; run `kiosk-provision firstboot`")
        return None
    if not isinstance(key, Ed25519PrivateKey):
        problems.append(f"sales key: {key_path} is not an Ed25519 key")
        return None
    public = public_key_bytes(key)
    with store.read() as conn:
        catalog = SqlCatalogStore().load(conn)
    match = next((k for k in catalog.keys if k.public_key == public and not k.revoked), None)
    if match is None:
        problems.append("sales key: central does not list this device's key yet (enrollment pending); selling is off")
        return None
    return SalesKey(match.key_id, key)


def _configured_printing(config: Any, store: Store, problems: list[str], clock: Clock) -> PrintingPort:
    try:
        from kiosk.compose_printing import configured_printing
    except ImportError as exc:
        problems.append(f"printing: not available in this build ({exc})")
        return NoPrinting("not_configured")
    try:
        port: PrintingPort = configured_printing(config, store, clock)
    except Exception as exc:
        problems.append(f"printer: {exc}")
        return NoPrinting("unreachable")
    return port
