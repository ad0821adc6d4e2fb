"""Technician screen behind a PIN: printer status, test print, label preview, camera test with live decode, sync
status, device id, software version and config problems. In safe mode (broken config) the app starts here."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.domain.store_space import SpaceLevel, SpaceView
from kiosk.services.kiosk_status import SyncView
from kiosk.services.ports import PrinterView
from kiosk.ui import presenters
from kiosk.ui.i18n import N_
from kiosk.ui.technician_presenters import sync_notes

if TYPE_CHECKING:  # the app imports the screens
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)
MAX_PIN_TRIES = 5
LOCKOUT_S = 60


class TechnicianScreen(Screen):  # type: ignore[misc]  # Kivy has no type stubs
    unlocked = BooleanProperty(False)
    safe_mode = BooleanProperty(False)
    pin_hint = StringProperty("")
    printer_text = StringProperty("")
    sync_text = StringProperty("")
    wipe_text = StringProperty("")  # central asked to wipe: a banner until a technician runs kiosk-provision wipe
    camera_text = StringProperty("")
    device_text = StringProperty("")
    problems_text = StringProperty("")
    problem_count = NumericProperty(0)
    locked_s = NumericProperty(0)  # seconds of PIN lockout left, shown as a countdown; the keys are off meanwhile
    lockout_s: float = LOCKOUT_S

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app: KioskApp = App.get_running_app()
        services = self.app.services
        self.safe_mode = services.safe_mode
        self.unlocked = services.safe_mode  # the PIN hash is in the broken config: safe mode opens directly
        self._tries = 0
        self._locked_until = 0.0
        self._printer: PrinterView | None = None
        self._sync: SyncView | None = None
        self._space: SpaceView | None = None
        self._camera_event: Any = None  # Kivy ClockEvent
        self._texture: Any = None  # Kivy Texture
        self._message = ""
        self._lock_event: Any = None  # Kivy ClockEvent: the countdown's tick
        self.app.bind(lang=lambda *_: self._relabel())
        Clock.schedule_once(lambda _dt: self._relabel(), 0)

    def on_enter(self, *_: object) -> None:
        self._camera_event = Clock.schedule_interval(self._camera_tick, 1 / 10)
        self.refresh_status()

    def on_leave(self, *_: object) -> None:
        if self._camera_event is not None:
            self._camera_event.cancel()
        if not self.safe_mode:
            self.unlocked = False
        self.ids.pin_keys.clear()

    def leave(self) -> None:
        if self.app.has_door:
            self.app.show("door")
        elif self.app.has_sales:
            self.app.show("sales")
        else:
            self.unlocked = self.safe_mode

    # ---- PIN -------------------------------------------------------------------------------------------------
    def try_pin(self, pin: str) -> None:
        import time

        if time.monotonic() < self._locked_until:  # the keys are disabled: only a script gets here
            self.ids.pin_keys.clear()
            self._relabel()
            return
        self.ids.pin_keys.clear()
        self.app.worker.submit(self.app.services.pin_check, pin, done=self._pin_checked)

    def _pin_checked(self, ok: bool) -> None:
        import time

        if ok:
            self._tries = 0
            self._message = ""
            self.unlocked = True
            self.refresh_status()
        else:
            self._tries += 1
            self._message = N_("Wrong PIN.")
            if self._tries >= MAX_PIN_TRIES:
                self._tries = 0
                self._locked_until = time.monotonic() + self.lockout_s
                self._message = ""
                self._lock_tick()
                self._lock_event = Clock.schedule_interval(lambda _dt: self._lock_tick(), 0.25)
        self._relabel()

    def _lock_tick(self) -> None:
        """Count the lockout down on screen; at zero the keys come back."""
        import math
        import time

        left = max(0, math.ceil(self._locked_until - time.monotonic()))
        if left != self.locked_s:
            self.locked_s = left
            self._relabel()
        if left == 0 and self._lock_event is not None:
            self._lock_event.cancel()
            self._lock_event = None

    # ---- status ----------------------------------------------------------------------------------------------
    def refresh_status(self) -> None:
        services = self.app.services
        if not self.unlocked and not self.safe_mode:
            return

        def work() -> tuple[PrinterView, SyncView | None, SpaceView | None]:
            printer = services.printing.printer()
            sync = services.status.sync() if services.status is not None else None
            space = services.status.space() if services.status is not None else None
            return printer, sync, space

        self.app.worker.submit(work, done=self._status_done)

    def _status_done(self, result: tuple[PrinterView, SyncView | None, SpaceView | None]) -> None:
        self._printer, self._sync, self._space = result
        self._relabel()

    def _store_lines(self) -> list[str]:
        """Disk-space and busy-store warnings, shown under the sync status (issue 11: before the disk is full)."""
        tr, lang, lines = self.app.tr, self.app.lang, []
        space = self._space
        if space is not None and space.level is SpaceLevel.FULL:
            lines.append(tr("Disk full: the store is using its last reserve ({kb} KB free); free space now", lang))
        elif space is not None and space.level is SpaceLevel.LOW:
            lines.append(tr("Disk almost full: {kb} KB left for the store; free space soon", lang))
        busy = self.app.worker.store_busy.view()
        if busy.retries:
            lines.append(tr("Store busy: {retries} retries, {failed} gave up", lang))
        kb = space.free_bytes // 1024 if space is not None else 0
        return [line.format(kb=kb, retries=busy.retries, failed=busy.gave_up) for line in lines]

    def _relabel(self) -> None:
        tr, lang, services = self.app.tr, self.app.lang, self.app.services
        hint = tr("Demo PIN: 1234", lang) if services.demo else ""
        self.pin_hint = tr(self._message, lang) if self._message else hint
        if self.locked_s:
            text = tr(N_("Too many wrong PINs: the keys work again in {seconds} s"), lang)
            self.pin_hint = text.format(seconds=int(self.locked_s))
        if self._printer is not None:
            self.printer_text = presenters.printer_text(self._printer.state, tr, lang)
        sync = self._sync
        if sync is None:
            self.sync_text = tr("No store: nothing to sync", lang)
        else:
            now = services.clock()
            badge = presenters.badge_view(sync.online, sync.data_age(now), sync.stale(now), tr, lang)
            self.sync_text = tr("{badge}; {pending} waiting to send; {dead} rejected; catalog {version}", lang).format(
                badge=badge.text, pending=sync.pending, dead=sync.dead_letters, version=sync.catalog_version or "-"
            )
            notes = sync_notes(sync, tr, lang)
            wipe = notes[0] if sync.wipe_requested else ""
            self.wipe_text = wipe
            self.sync_text = "\n".join([self.sync_text, *notes[bool(wipe) :], *self._store_lines()])
        self.device_text = tr("Device {device} · role {role} · gate {gate} · version {version}", lang).format(
            device=services.device_id, role=services.role, gate=services.gate, version=services.version
        )
        problems = services.config_problems
        self.problem_count = len(problems)
        self.problems_text = "\n".join(problems) if problems else tr("None", lang)

    # ---- actions ---------------------------------------------------------------------------------------------
    def test_print(self) -> None:
        def done(_r: None) -> None:
            self._message = ""
            self.refresh_status()

        def failed(exc: BaseException) -> None:
            failed_text = self.app.tr("Test print failed", self.app.lang)
            self.printer_text = f"{failed_text}: {exc}"

        self.app.worker.submit(self.app.services.printing.test_print, self.app.lang, done=done, failed=failed)

    def label_preview(self) -> None:
        out = Path(tempfile.gettempdir()) / f"kiosk-label-preview-{self.app.lang}.png"

        def done(path: Path | None) -> None:
            if path is None:
                self.printer_text = self.app.tr("No label preview available", self.app.lang)
                return
            self.ids.preview_image.source = str(path)
            self.ids.preview_image.reload()

        self.app.worker.submit(self.app.services.printing.preview_png, out, self.app.lang, done=done)

    def _camera_tick(self, _dt: float) -> None:
        camera = self.app.camera
        tr, lang = self.app.tr, self.app.lang
        if camera is None:
            self.camera_text = tr("No camera on this kiosk", lang)
            return
        _seq, frame = camera.latest()
        if frame is not None:
            h, w = frame.shape[:2]
            if self._texture is None or self._texture.size != (w, h):
                self._texture = Texture.create(size=(w, h), colorfmt="bgr")
                self._texture.flip_vertical()
                self.ids.camera_image.texture = self._texture
            self._texture.blit_buffer(frame.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
            self.ids.camera_image.canvas.ask_update()
        if camera.error:
            self.camera_text = tr("Camera problem: {error}", lang).format(error=camera.error)
        else:
            codes = ", ".join(c[:24] for c in camera.last_codes) or tr("nothing read yet", lang)
            self.camera_text = tr("Frames: {frames} · decode {ms} ms · last read: {codes}", lang).format(
                frames=camera.frames_read, ms=f"{camera.decode_ms:.1f}", codes=codes
            )
