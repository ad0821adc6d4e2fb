"""The Kivy app: picks the screens for the device's role, owns the worker pool, the camera feed and the language.

Nothing here blocks the Kivy thread: services are called through `Worker.submit`, the camera decodes in its own
thread, and the screens poll status (printer, sync, counters) every few seconds in the background.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.domain.languages import DEFAULT_LANGUAGE
from kiosk.services.app_services import AppServices
from kiosk.ui import i18n
from kiosk.ui.sounds import SoundBoard
from kiosk.ui.watchdog import UiWatchdog
from kiosk.ui.workers import Worker

if TYPE_CHECKING:  # the camera feed imports OpenCV: only a door that has a camera loads it
    from kiosk.ui.camera_feed import CameraView

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
STATUS_EVERY_S = 2.0
TRIM_EVERY_S = 30.0  # hand the heap's free pages back to the OS this often (~1 ms each time)


def load_kv() -> None:
    import kiosk.ui.widgets.common
    import kiosk.ui.widgets.keypad
    import kiosk.ui.widgets.verdict  # noqa: F401

    Builder.load_file(str(HERE / "theme.kv"))
    for name in ("door", "sales", "technician"):
        Builder.load_file(str(HERE / "screens" / f"{name}.kv"))


class LazyScreenManager(ScreenManager):  # type: ignore[misc]  # Kivy has no type stubs
    """Builds each offered screen the first time it is asked for (shown, `get_screen`, `has_screen` is True).

    A door kiosk spends its life on the door screen: the sales and technician widget trees, and the textures of
    their hundreds of labels, cost ~10 MB resident under software GL and are only built when someone goes there.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._factories: dict[str, type] = {}
        self.offered: list[str] = []

    def offer(self, name: str, screen_class: type) -> None:
        self._factories[name] = screen_class
        self.offered.append(name)

    def built(self, name: str) -> bool:
        return any(s.name == name for s in self.screens)

    def has_screen(self, name: str) -> bool:
        return name in self._factories or bool(super().has_screen(name))

    def get_screen(self, name: str) -> Any:  # a Kivy Screen
        if name in self._factories and not self.built(name):
            self.add_widget(self._factories[name](name=name))
        return super().get_screen(name)


class KioskApp(App):  # type: ignore[misc]  # Kivy has no type stubs
    lang = StringProperty(DEFAULT_LANGUAGE)
    role = StringProperty("door")
    demo = BooleanProperty(False)
    has_door = BooleanProperty(False)
    has_sales = BooleanProperty(False)
    title = "Kiosk"

    def __init__(self, services: AppServices, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.services = services
        self.translator = i18n.Translator()
        self.lang = services.default_lang
        self.role = services.role
        self.demo = services.demo
        self.has_door = services.can_scan and not services.safe_mode
        self.has_sales = services.can_sell and not services.safe_mode
        self.worker = Worker()
        self.sounds = SoundBoard()
        self.camera: CameraView | None = None
        self.ready_at: float | None = None
        self.watchdog: UiWatchdog | None = None  # systemd notifications, from the first drawn frame on
        self._ready_written = False

    # ---- texts -----------------------------------------------------------------------------------------------
    def tr(self, message: str, lang: str | None = None) -> str:
        return self.translator.tr(message, lang or self.lang)

    def set_language(self, lang: str) -> None:
        self.lang = i18n.norm(lang)

    def next_language(self) -> None:
        offered = list(self.services.languages)
        self.lang = offered[(offered.index(self.lang) + 1) % len(offered)] if self.lang in offered else offered[0]

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def build(self) -> LazyScreenManager:
        from kiosk.ui.screens.door import DoorScreen
        from kiosk.ui.screens.sales import SalesScreen
        from kiosk.ui.screens.technician import TechnicianScreen

        load_kv()
        Window.clearcolor = (0.08, 0.09, 0.11, 1)
        if self.services.fullscreen:
            Window.fullscreen = "auto"
            Window.show_cursor = False
        sm = LazyScreenManager(transition=NoTransition())
        if self.has_door:
            sm.offer("door", DoorScreen)
        if self.has_sales:
            sm.offer("sales", SalesScreen)
        sm.offer("technician", TechnicianScreen)
        if not (self.has_door or self.has_sales):
            sm.current = "technician"
        elif self.has_door:
            sm.current = "door"
        else:
            sm.current = "sales"
        self.manager = sm
        return sm

    def on_start(self) -> None:
        factory, scanning = self.services.camera_factory, self.services.scanning
        if factory is not None and scanning is not None and self.has_door:  # has_door implies scanning
            door = self.manager.get_screen("door")
            try:
                self.camera = factory(scanning, self.services.gate, door.camera_scan)
                self.camera.start()
            except Exception:
                log.exception("camera not started")
                self.camera = None
        Clock.schedule_interval(self._frame_tick, 0)
        Clock.schedule_interval(self._poll_status, STATUS_EVERY_S)
        self._poll_status(0)
        Clock.schedule_once(self._mark_ready, 0)

    def _mark_ready(self, _dt: float) -> None:
        import time

        self.ready_at = time.monotonic()
        log.info("ready")
        self._write_ready_when_settled()
        Clock.schedule_interval(self._trim_heap, TRIM_EVERY_S)
        self.watchdog = UiWatchdog(self.services.notifier, lambda: f"screen {self.manager.current}")
        self.watchdog.start(Window)  # READY=1 on the next drawn frame, then WATCHDOG=1 from this loop

    def _write_ready_when_settled(self, timeout_s: float = 10.0) -> None:
        """The first ready file shows the finished screen: written once its layout settled (see kiosk.ui.frames)."""
        import time

        from kiosk.ui.frames import FrameWatch

        if not os.environ.get("KIOSK_READY_FILE"):
            return
        watch, deadline = FrameWatch(), time.monotonic() + timeout_s

        def poll(_dt: float) -> bool:
            if not watch.settled() and time.monotonic() < deadline:
                return True  # keep polling; past the deadline (texts that never stop changing) write it anyway
            watch.close()
            self._write_ready_file()
            self._ready_written = True
            return False

        Clock.schedule_interval(poll, 0.05)

    def _trim_heap(self, _dt: float) -> None:
        # Start-up (kv rules, screens, the first textures) and the camera's buffers leave free holes in glibc's
        # heap that it would otherwise keep resident.
        from kiosk.ui.launch import release_freed_memory

        release_freed_memory()

    def on_stop(self) -> None:
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.camera is not None:
            self.camera.stop()
        self.worker.shutdown()
        self.services.close()

    def _frame_tick(self, dt: float) -> None:
        # The longest gap between two frames since the last status write: a blocked UI thread shows up here.
        self.max_frame_gap = max(getattr(self, "max_frame_gap", 0.0), dt)

    def _write_ready_file(self) -> None:
        """For supervisors and tests: KIOSK_READY_FILE gets the current screen and its visible texts."""
        target = os.environ.get("KIOSK_READY_FILE")
        if not target:
            return
        import json
        import time

        from kiosk.ui.layout_check import visible_labels

        texts = [w.text for w in visible_labels(Window)]
        info = {
            "screen": self.manager.current,
            "texts": texts,
            "at": time.monotonic(),
            "max_frame_gap_ms": round(getattr(self, "max_frame_gap", 0.0) * 1000, 1),
        }
        self.max_frame_gap = 0.0
        if self.manager.has_screen("door"):
            door = self.manager.get_screen("door")
            info.update(frames_shown=door.frames_shown, scans_shown=door.scans_shown)
        if self.camera is not None:
            info["camera_frames"] = self.camera.frames_read
        tmp = Path(target + ".tmp")
        tmp.write_text(json.dumps(info, ensure_ascii=False))
        tmp.replace(target)

    def _poll_status(self, _dt: float) -> None:
        if self._ready_written:  # the first write waits for a settled screen
            self._write_ready_file()
        for screen in self.manager.screens:
            refresh = getattr(screen, "refresh_status", None)
            if refresh is not None and screen.name in (self.manager.current, "technician"):
                refresh()

    # ---- navigation ------------------------------------------------------------------------------------------
    def show(self, name: str) -> None:
        if self.manager.has_screen(name):
            self.manager.current = name


def run_app(services: AppServices) -> int:
    KioskApp(services).run()
    return 0
