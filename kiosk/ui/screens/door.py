"""Door screen: camera preview and its state, sticky refusals, scan history, entry/exit, keypad, USB wedge, counters."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ColorProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.domain.catalog import Catalog
from kiosk.domain.model import Direction, pick_text
from kiosk.domain.verdicts import VerdictCode
from kiosk.domain.wedge import WedgeParser
from kiosk.services.kiosk_status import DoorCounters, SyncView
from kiosk.services.scanner_pipeline import ScanEvent
from kiosk.services.scanning import ScanResult
from kiosk.ui import door_presenters as dp
from kiosk.ui import presenters, theme
from kiosk.ui.i18n import N_

if TYPE_CHECKING:  # the app imports the screens
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)
PREVIEW_FPS = 15


class DoorScreen(Screen):  # type: ignore[misc]  # Kivy has no type stubs
    gate = StringProperty("")
    door_name = StringProperty("")  # the gate's name in the catalog (its check-in list's), not the raw id
    direction = StringProperty("entry")
    allow_exit = BooleanProperty(False)
    admitted = NumericProperty(0)
    inside = NumericProperty(0)
    badge_text = StringProperty("")
    badge_colour = ColorProperty((0.9, 0.62, 0, 1))
    last_text = StringProperty("")
    history = ListProperty([])  # (text, colour) rows, newest first: the door's last scans
    camera_text = StringProperty("")
    has_frames = BooleanProperty(False)
    keypad_open = BooleanProperty(False)
    verdict_visible = BooleanProperty(False)
    v_kind = StringProperty("")
    v_shape = StringProperty("circle_check")
    v_colour = ColorProperty((0, 0.62, 0.45, 1))
    v_title = StringProperty("")
    v_detail = StringProperty("")
    v_tariff = StringProperty("")
    v_ink = ColorProperty((0, 0, 0, 1))  # text and symbol colour: ≥ 4.5:1 on v_colour (kiosk.ui.theme)
    v_waiting = StringProperty("")  # "2 more scans waiting": verdicts queued behind a refusal

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app: KioskApp = App.get_running_app()
        self.gate = self.door_name = self.app.services.gate
        self._catalog: Catalog | None = None
        self._sync: SyncView | None = None
        self._hide_event: Any = None  # Kivy ClockEvent
        self._texture: Any = None  # Kivy Texture
        self._frame_seq = -1
        self.frames_shown = 0
        self.scans_shown = 0
        self.last_result: ScanResult | None = None
        self._board: dp.VerdictBoard[ScanResult | str] = dp.VerdictBoard(self.app.services.refusal_hold_s)
        self._history: tuple[ScanResult, ...] = ()  # newest first
        self._wedge = WedgeParser()
        self._preview_event: Any = None  # Kivy ClockEvent
        self.app.bind(lang=lambda *_: self._relabel())

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def on_enter(self, *_: object) -> None:
        self._preview_event = Clock.schedule_interval(self._update_preview, 1 / PREVIEW_FPS)
        Window.bind(on_textinput=self._on_textinput, on_key_down=self._on_key_down)
        self.refresh_status()

    def on_leave(self, *_: object) -> None:
        if self._preview_event is not None:
            self._preview_event.cancel()
        Window.unbind(on_textinput=self._on_textinput, on_key_down=self._on_key_down)

    def refresh_status(self) -> None:
        services = self.app.services
        status = services.status
        if status is None:
            return
        now = services.clock()

        def work() -> tuple[DoorCounters, SyncView, bool, Catalog]:
            catalog = status.catalog()
            return status.door_counters(now), status.sync(), catalog.list_for_gate(services.gate).allow_exit, catalog

        self.app.worker.submit(work, done=self._show_status)

    def _show_status(self, result: tuple[DoorCounters, SyncView, bool, Catalog]) -> None:
        counters, sync, allow_exit, self._catalog = result
        self.door_name = dp.door_name(self.gate, self._catalog)
        self.admitted, self.inside = counters.admitted_today, counters.inside_now
        self._sync = sync
        self.allow_exit = allow_exit
        if not allow_exit:
            self.direction = "entry"
        self._relabel()

    def _relabel(self) -> None:
        sync = self._sync
        if sync is not None:
            now = self.app.services.clock()
            badge = presenters.badge_view(sync.online, sync.data_age(now), sync.stale(now), self.app.tr, self.app.lang)
            self.badge_text, self.badge_colour = badge.text, badge.colour
        if self.last_result is not None:
            self.last_text = self._summary(self.last_result)
        self._relabel_history()
        self._relabel_waiting()

    # ---- camera ----------------------------------------------------------------------------------------------
    def camera_scan(self, event: ScanEvent) -> None:
        """Called on the scanner pipeline's thread for every new scan (already recorded): show it on ours."""
        if self.app.camera is not None:
            self.app.camera.note_code(event.code)
        result = event.result
        if result is not None:
            Clock.schedule_once(lambda _dt: self.show_result(result), 0)
        else:
            log.error("camera scan failed: %s", event.error)
            Clock.schedule_once(lambda _dt: self.show_store_error(event.error or ""), 0)

    def _update_preview(self, _dt: float) -> None:
        camera = self.app.camera
        self._relabel_camera()
        if camera is None:
            return
        seq, frame = camera.latest()
        if frame is None or seq == self._frame_seq:
            return
        self._frame_seq = seq
        h, w = frame.shape[:2]
        if self._texture is None or self._texture.size != (w, h):
            self._texture = Texture.create(size=(w, h), colorfmt="bgr")
            self._texture.flip_vertical()
            self.ids.preview.texture = self._texture
        self._texture.blit_buffer(frame.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.ids.preview.canvas.ask_update()
        self.frames_shown += 1
        self.has_frames = True

    def _relabel_camera(self) -> None:
        camera = self.app.camera
        state = camera.state if camera is not None else ""
        text = dp.camera_text(camera is not None, state, self.app.tr, self.app.lang)
        if text != self.camera_text:
            self.camera_text = text

    # ---- scans -----------------------------------------------------------------------------------------------
    def _scan(self, text: str) -> ScanResult | None:
        scanning = self.app.services.scanning
        if scanning is None:  # never: the app offers the door screen only with a scanning service
            return None
        try:
            result: ScanResult = scanning.scan(text, self.gate, Direction(self.direction))
        except Exception as exc:
            log.exception("scan failed")
            error = f"{type(exc).__name__}: {exc}"  # `exc` is gone once the except block ends
            Clock.schedule_once(lambda _dt: self.show_store_error(error), 0)
            return None
        return result

    def show_store_error(self, error: str) -> None:
        """The scan was not recorded (store full or busy past its retries): a warning, never silence."""
        self._offer(error, "warn")

    def submit_code(self, text: str) -> None:
        """A code from the keypad or the USB scanner: scan it in a worker, show the verdict when done."""
        text = text.strip()
        if not text:
            return
        self.app.worker.submit(self._scan, text, done=self.show_result)

    def show_result(self, result: ScanResult | None) -> None:
        # A repeat within the debounce window (the same code typed or scanned twice quickly) carries the first
        # verdict and wrote nothing: show it again, so a second try is never met with silence.
        if result is None:
            return
        self.last_result = result
        self._history = dp.push_history(self._history, result)
        self._relabel_history()
        self._offer(result, presenters.verdict_view(result.verdict, self.app.tr, self.app.lang).kind)
        self.refresh_status()

    def _offer(self, item: ScanResult | str, kind: str) -> None:
        """Show now, or queue behind a refusal still holding the screen (kiosk.ui.door_presenters.VerdictBoard)."""
        if self._board.offer(item, kind, time.monotonic()):
            self._display(item)
        self._relabel_waiting()

    def _view(self, item: ScanResult | str) -> presenters.VerdictView:
        tr, lang = self.app.tr, self.app.lang
        if isinstance(item, str):
            return presenters.store_error_view(item, tr, lang)
        verdict = item.verdict
        view = presenters.verdict_view(verdict, tr, lang, self._catalog_for_view())
        first = dp.first_use_text(verdict, self.gate, self._catalog, self.app.services.clock(), tr, lang)
        detail = " ".join(t for t in (dp.entries_text(verdict, tr, lang), first or view.detail) if t)
        return replace(view, detail=detail)

    def _display(self, item: ScanResult | str) -> None:
        view = self._view(item)
        self.v_kind, self.v_shape, self.v_colour = view.kind, view.shape, view.colour
        self.v_ink = theme.ink_on(view.colour)
        self.v_title, self.v_detail = view.title, view.detail
        self.v_tariff = f"{view.tariff} · {view.tariff_icon}" if view.tariff_icon else view.tariff
        self.verdict_visible = True
        if not isinstance(item, str):
            self.scans_shown += 1
            self.last_text = self._summary(item)
        self.app.sounds.play(view.sound)
        if self._hide_event is not None:
            self._hide_event.cancel()
        seconds = max(view.seconds, self._board.hold_s) if view.kind in dp.REFUSALS else view.seconds
        self._hide_event = Clock.schedule_once(lambda _dt: self.hide_verdict(), seconds)

    def _relabel_waiting(self) -> None:
        waiting = len(self._board.waiting)
        text = self.app.tr(N_("Scans waiting: {count} · tap for the next"), self.app.lang)
        self.v_waiting = text.format(count=waiting) if waiting else ""

    def _relabel_history(self) -> None:
        colours = {"ok": theme.GREEN, "exit": theme.BLUE, "warn": theme.AMBER, "stop": theme.RED}
        tr, lang, rows = self.app.tr, self.app.lang, []
        for result in self._history:
            view = presenters.verdict_view(result.verdict, tr, lang)
            display = result.verdict.display
            label = pick_text(display.tariff_name, lang) if display is not None else ""
            item = dp.HistoryItem(view.kind, view.title, label, result.scanned_at)
            rows.append((dp.history_line(item, lang), colours[view.kind]))
        self.history = rows

    def on_history(self, *_: object) -> None:
        box = self.ids.history_box
        shown = [(r.text, tuple(r.mark)) for r in box.children[::-1]]  # top row first
        wanted = [(text, tuple(mark)) for text, mark in self.history]
        if wanted == shown:
            return
        # One new scan: add its row on top and drop the oldest, so the other labels keep their fitted fonts (a
        # rebuild refits ten labels per scan, which delayed the verdict's frame under software GL).
        if wanted and shown[: len(wanted) - 1] == wanted[1:] and len(shown) >= len(wanted) - 1:
            box.add_widget(self._history_row(*wanted[0]), index=len(box.children))
            for row in box.children[: len(box.children) - len(wanted)]:
                box.remove_widget(row)
            return
        box.clear_widgets()
        for text, mark in wanted:
            box.add_widget(self._history_row(text, mark))

    @staticmethod
    def _history_row(text: str, mark: tuple[float, ...]) -> Any:
        row = Factory.DoorHistoryRow()  # kv-declared properties cannot be passed to __init__
        row.text, row.mark = text, mark
        return row

    def _catalog_for_view(self) -> Catalog | None:
        return self._catalog

    def _summary(self, result: ScanResult) -> str:
        view = presenters.verdict_view(result.verdict, self.app.tr, self.app.lang)
        from kiosk.ui import i18n

        text: str = self.app.tr("Last scan {time}: {title}", self.app.lang)
        return text.format(time=i18n.time_of(result.scanned_at, self.app.lang), title=view.title)

    def hide_verdict(self) -> None:
        """Staff tapped the verdict, or its time is up: the next queued verdict, or the door screen again."""
        if self._hide_event is not None:
            self._hide_event.cancel()
            self._hide_event = None
        following = self._board.release(time.monotonic())
        if following is None:
            self.verdict_visible = False
        else:
            self._display(following)
        self._relabel_waiting()

    def clear_verdicts(self) -> None:
        """Nothing shown, nothing waiting (screenshots start each state from here)."""
        self._board.clear()
        self.hide_verdict()

    def set_direction(self, direction: str) -> None:
        if direction == "exit" and not self.allow_exit:
            return
        self.direction = direction
        if self.app.camera is not None:
            self.app.camera.set_direction(self.gate, direction)

    # ---- keypad ----------------------------------------------------------------------------------------------
    def open_keypad(self) -> None:
        self.ids.code_keys.clear()
        self.keypad_open = True

    def close_keypad(self) -> None:
        self.keypad_open = False
        self.ids.code_keys.clear()

    def submit_typed(self) -> None:
        """Check the typed code. The keypad closes on an admission or exit; a refusal (a typo, most often) leaves
        it open under the verdict with the text as typed, so staff correct one key instead of typing it all again."""
        text = self.ids.code_keys.value.strip()
        if text:
            self.app.worker.submit(self._scan, text, done=self._typed_done)

    def _typed_done(self, result: ScanResult | None) -> None:
        self.show_result(result)
        if result is not None and result.verdict.code in (VerdictCode.VALID, VerdictCode.EXIT_RECORDED):
            self.close_keypad()

    # ---- USB keyboard-wedge scanner --------------------------------------------------------------------------
    # Read with the keypad open too: a guest's ticket on the hand scanner while staff type another is scanned.
    def _on_textinput(self, _window: object, text: str) -> bool:
        if self.manager is None or self.manager.current != self.name:
            return False
        now = time.monotonic()
        for ch in text:
            self._wedge.key(ch, now)
        return True

    def _on_key_down(self, _window: object, key: int, *_args: object) -> bool:
        if key not in (13, 271):  # Enter / keypad Enter end a scanner burst
            return False
        if self.manager is None or self.manager.current != self.name:
            return False
        code = self._wedge.key("enter", time.monotonic())
        if code:
            self.submit_code(code)
        return True
