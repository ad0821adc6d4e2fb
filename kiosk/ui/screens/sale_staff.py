"""The sales screen's printer side: the start screen's printer gate, print progress, the staff PIN, "Print again".

A mixin of `SalesScreen` (kiosk.ui.screens.sales), split out by concern. The printer's state comes from the
print worker's own `~HS` polls (`PrintingPort.state`, no I/O on the UI side). A label whose outcome is unknown
is never printed again by itself: staff tap "Print again", give the PIN, and `PrintingPort.reprint` prints a
copy marked "Reprint N", logged and sent to central as a `reprint` event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.graphics import Color, Rectangle
from kivy.properties import ListProperty
from kivy.uix.widget import Widget

from kiosk.services.ports import JobsView
from kiosk.ui import sale_presenters as sp
from kiosk.ui.presenters import printer_text

if TYPE_CHECKING:
    from kiosk.ui.app import KioskApp

log = logging.getLogger(__name__)
PRINTER_POLL_S = 1.0
DONE_RETURN_S = 20.0
MISSING_RETURN_S = 300.0  # a sale with a label missing stays on screen for staff (and the buyer's reference)
MAX_PIN_TRIES = 5
PIN_LOCK_S = 60.0


class QrCode(Widget):  # type: ignore[misc]  # Kivy has no type stubs
    """Draws `matrix` (rows of dark/light modules) as a square with a quiet zone, black on white."""

    matrix = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(matrix=self._draw, pos=self._draw, size=self._draw)

    def _draw(self, *_: object) -> None:
        self.canvas.clear()
        rows = self.matrix
        if not rows:
            return
        n = len(rows) + 8  # four light modules around it, as a scanner needs
        side = min(self.width, self.height)
        cell = side / n
        x0, y0 = self.center_x - side / 2, self.center_y - side / 2
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=(x0, y0), size=(side, side))
            Color(0, 0, 0, 1)
            for r, row in enumerate(rows):
                for c, dark in enumerate(row):
                    if dark:
                        Rectangle(pos=(x0 + (c + 4) * cell, y0 + side - (r + 5) * cell), size=(cell, cell))


class SaleStaff:
    """Printer gate, print progress, staff PIN and reprint for SalesScreen (which defines the Kivy properties)."""

    app: KioskApp
    ids: Any
    receipt: Any
    jobs_total: int
    jobs_printed: int
    jobs_missing: int
    printer_problem: str
    gate_blocked: bool
    gate_buyer: str
    gate_staff: str
    done_title: str
    done_count: str
    done_hint: str
    done_tone: Any
    order_ref_text: str
    order_qr: Any
    staff_text: str
    go: Callable[[str], None]
    reset_for_next_buyer: Callable[[], None]

    def _init_staff(self) -> None:
        self._printer_state = ""
        self._print_event: Any = None  # Kivy ClockEvent
        self._done_event: Any = None
        self._job_ids: tuple[str, ...] = ()
        self._staff: tuple[str, Callable[[], None], str] | None = None
        self._staff_ok = False  # a staff PIN was given during this sale (free tariffs)
        self._pin_wrong = False
        self._pin_tries = 0
        self._pin_locked_until = 0.0
        Clock.schedule_interval(lambda _dt: self._poll_printer_state(), PRINTER_POLL_S)

    def _stop_print_events(self) -> None:
        for event in (self._print_event, self._done_event):
            if event is not None:
                event.cancel()
        self._print_event = self._done_event = None

    # ---- the printer gate (start screen, payment) -------------------------------------------------------------
    def _poll_printer_state(self) -> None:
        self.app.worker.submit(self.app.services.printing.state, done=self._printer_state_seen)

    def _printer_state_seen(self, state: str) -> None:
        if state != self._printer_state:
            log.info("sales: printer state %s", state or "unknown")
        self._printer_state = state
        self._relabel_printer()

    def printer_can_print(self) -> bool:
        return not sp.printer_blocks_sale(self._printer_state)

    # ---- printing progress -----------------------------------------------------------------------------------
    def _follow_jobs(self, job_ids: tuple[str, ...]) -> None:
        self._stop_print_events()
        self._job_ids = job_ids
        self.jobs_total = len(job_ids)
        self.go("printing")
        self._print_event = Clock.schedule_interval(lambda _dt: self._poll_print(), 0.4)

    def _poll_print(self) -> None:
        if self.receipt is None or not self._job_ids:
            return
        self.app.worker.submit(self.app.services.printing.jobs, self._job_ids, done=self._print_progress)

    def _print_progress(self, view: JobsView) -> None:
        if self.receipt is None:
            return
        self.jobs_total, self.jobs_printed, self.jobs_missing = view.total, view.printed, view.total - view.printed
        # every label printed, or the rest will not print by themselves (outcome unknown): the done step says so
        settled = view.printed + view.lost >= view.total
        if settled:
            # no more job polls: their "error" for a lost label would hide the printer's own state
            # (a printer back after a drop must read "ready", so staff know a reprint will work)
            if self._print_event is not None:
                self._print_event.cancel()
                self._print_event = None
        elif view.problem:
            self._printer_state = view.problem
        if settled and self.ids.steps.current == "printing":
            if view.lost:
                log.warning("sale %s: %d of %d labels not printed", self.receipt.order_ref, view.lost, view.total)
            self._to_done()
        self._relabel_printer()

    def _to_done(self) -> None:
        if self._done_event is not None:
            self._done_event.cancel()
        self.go("done")
        wait = MISSING_RETURN_S if self.jobs_missing else DONE_RETURN_S
        self._done_event = Clock.schedule_once(lambda _dt: self.reset_for_next_buyer(), wait)

    def _relabel_printer(self) -> None:
        tr, lang, state = self.app.tr, self.app.lang, self._printer_state
        gate = sp.printer_gate(state, tr, lang)
        self.gate_blocked, self.gate_buyer, self.gate_staff = gate.blocked, gate.buyer, gate.staff
        if self.ids.steps.current == "printing":
            self.printer_problem = printer_text(state, tr, lang) if sp.printer_blocks_sale(state) else ""
        receipt = self.receipt
        if receipt is not None:
            view = sp.done_view(self.jobs_printed, self.jobs_total, state, tr, lang)
            self.done_title, self.done_count, self.done_hint = view.title, view.count, view.hint
            self.done_tone = list(view.tone)
            self.order_ref_text = tr("Order {ref}", lang).format(ref=receipt.order_ref)
        if self.ids.steps.current == "staff" and self._staff is not None:
            self.staff_text = sp.staff_prompt(self._staff[0], self._pin_wrong, tr, lang)
            if time.monotonic() < self._pin_locked_until:
                self.staff_text = tr("Too many wrong PINs: wait a minute.", lang)

    # ---- print again (staff) ---------------------------------------------------------------------------------
    def print_again(self) -> None:
        if self.receipt is None or not self.jobs_missing:
            return
        self.ask_staff("reprint", self._reprint)

    def _reprint(self) -> None:
        receipt, jobs = self.receipt, self._job_ids
        printing, device = self.app.services.printing, self.app.services.device_id

        def reprint() -> tuple[str, ...]:
            return printing.reprint(jobs, device_id=device, reason=f"sales screen, order {receipt.order_ref}")

        log.warning("sale %s: staff asked to print again (%d missing)", receipt.order_ref, self.jobs_missing)
        self.app.worker.submit(reprint, done=self._follow_jobs, failed=self._reprint_failed)

    def _reprint_failed(self, exc: BaseException) -> None:
        log.error("reprint failed", exc_info=exc)
        self._to_done()

    # ---- staff PIN -------------------------------------------------------------------------------------------
    def ask_staff(self, purpose: str, action: Callable[[], None]) -> None:
        if self._done_event is not None:  # a paid sale's screen must not go while staff type
            self._done_event.cancel()
            self._done_event = None
        self._staff = (purpose, action, self.ids.steps.current)
        self._pin_wrong = False
        self.ids.staff_keys.clear()
        self.go("staff")

    def staff_pin(self, pin: str) -> None:
        if time.monotonic() < self._pin_locked_until or not pin:
            self._relabel_printer()
            return
        self.ids.staff_keys.clear()
        self.app.worker.submit(self.app.services.pin_check, pin, done=self._staff_checked)

    def _staff_checked(self, ok: bool) -> None:
        if self._staff is None:
            return
        purpose, action, back = self._staff
        if not ok:
            self._pin_tries += 1
            self._pin_wrong = True
            log.warning("sales: wrong staff PIN (%s, try %d)", purpose, self._pin_tries)
            if self._pin_tries >= MAX_PIN_TRIES:
                self._pin_locked_until = time.monotonic() + PIN_LOCK_S
                self._pin_tries = 0
            self._relabel_printer()
            return
        log.info("sales: staff PIN given for %s", purpose)
        self._pin_tries = 0
        self._staff = None
        self._staff_ok = True
        self._back_from_staff(back)
        action()

    def staff_cancel(self) -> None:
        if self._staff is not None:
            back = self._staff[2]
            self._staff = None
            self._back_from_staff(back)

    def _back_from_staff(self, back: str) -> None:
        if back == "done":
            self._to_done()
        else:
            self.go(back)
