"""`kiosk screenshots`: every screen and state in every language as PNG, plus a check that every text fits.

Runs the real app on a fresh demo venue (in a private Xvfb when there is no display). The verdicts come from real
scans of the demo's codes; each is then shown in every language. The camera preview shows a still generated
frame so that the pictures do not depend on timing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.domain.languages import LANGUAGES

if TYPE_CHECKING:
    from kiosk.services.app_services import AppServices
    from kiosk.services.scanning import ScanResult
    from kiosk.ui.app import KioskApp
    from kiosk.ui.camera_feed import Frame
    from kiosk.ui.frames import FrameWatch
    from kiosk.ui.screens.sales import SalesScreen
    from kiosk.ui.screens.technician import TechnicianScreen
    from kiosk.ui.scripted import Script

    Shot = Callable[[str], Script]  # a screenshot named so, as script steps

VERDICT_ORDER = (
    "valid",
    "valid_reduced",
    "already_used",
    "exit_recorded",
    "unknown",
    "invalid_signature",
    "wrong_performance",
    "expired",
    "cancelled",
    "revoked",
    "not_on_this_list",
)


@dataclass
class ScreenshotReport:
    """What `kiosk screenshots` made: the PNG files, every problem seen on them, and a script error if it stopped."""

    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # texts that do not fit, small targets, two steps at once
    error: str = ""


class StillCamera:
    """Stands in for the camera feed: one generated frame of a ticket held up to the door."""

    def __init__(self, code: str) -> None:
        import cv2
        import numpy as np

        from kiosk.demo.frame_synth import TicketScene, render_scene

        frame = render_scene(TicketScene(code, size=(1280, 720), code_height=0.45, rotation=-6.0))
        self.frame: Frame = cv2.resize(frame, (640, 360)).astype(np.uint8, copy=False)  # uint8 already
        self.frames_read = 1
        self.decode_ms = 0.0
        self.last_codes = [code[:16]]
        self.error = ""
        self.state = ""  # "failed", "starting"…: the door's camera states (kiosk.ui.door_presenters.camera_text)

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def set_direction(self, gate: str, direction: str) -> None: ...

    def note_code(self, text: str) -> None: ...

    def latest(self) -> tuple[int, Frame | None]:
        return 1, self.frame


def _verdict_samples(services: AppServices, expected: list[tuple[str, str]]) -> dict[str, ScanResult]:
    """Real scan results of every kind, made once on the demo store (no debounce: one scan per call)."""
    from datetime import timedelta

    from kiosk.domain.model import Direction

    assert services.scanning is not None, "the screenshot demo is a door"
    scanning = services.scanning.with_debounce(timedelta(0))
    gate = services.gate
    out: dict[str, ScanResult] = {}
    admitted = []
    for code, verdict in expected:
        if verdict != "valid":
            if verdict not in out:
                out[verdict] = scanning.scan(code, gate)
            continue
        if "valid" in out and "valid_reduced" in out:
            continue
        result = scanning.scan(code, gate)
        icon = result.verdict.display.tariff_icon if result.verdict.display else ""
        name = "valid_reduced" if icon == "reduced" else "valid"
        if name not in out:
            out[name] = result
            admitted.append(code)
    if admitted:
        out["exit_recorded"] = scanning.scan(admitted[0], gate, Direction.EXIT)
        out["already_used"] = scanning.scan(admitted[-1], gate)
    return out


def _shot(watch: FrameWatch, out: Path, report: ScreenshotReport, lang: str, name: str) -> Script:
    """Wait for the screen to settle, grab that frame, and check it: one step shown, every text fits."""
    from kivy.core.window import Window

    from kiosk.ui.frames import settle_then_capture
    from kiosk.ui.layout_check import overflows, small_targets

    frame = yield from settle_then_capture(watch, out / f"{lang}-{name}.png", f"{lang}/{name}")
    report.files.append(str(frame.path))
    for stray in frame.strays:
        report.problems.append(f"{lang}/{name}: not current but drawn: {stray}")
    for item in overflows(Window) + small_targets(Window):
        report.problems.append(f"{lang}/{name}: {item}")


def _door_states(app: KioskApp, shot: Shot, samples: dict[str, ScanResult]) -> Script:
    door = app.manager.get_screen("door")
    app.show("door")
    door.clear_verdicts()
    yield from shot("door")
    door.open_keypad()
    door.ids.code_keys.value = "7KQ2M9"
    yield from shot("door-keypad")
    door.close_keypad()
    for name in VERDICT_ORDER:
        if name in samples:
            door.clear_verdicts()
            door.show_result(samples[name])
            yield from shot(f"verdict-{name}")
    if "already_used" in samples and "valid" in samples:  # a refusal holds the screen: the next scan waits
        door.clear_verdicts()
        door.show_result(samples["already_used"])
        door.show_result(samples["valid"])
        yield from shot("verdict-refusal-holds")
    door.clear_verdicts()
    yield from shot("door-history")
    camera = app.camera
    for state in ("failed", "starting"):
        if isinstance(camera, StillCamera):
            camera.state = state
            door._relabel_camera()  # now, not at the next preview tick: the shot may settle before it
            yield from shot(f"door-camera-{state}")
            camera.state = ""
            door._relabel_camera()
    if door.allow_exit:
        door.set_direction("exit")
        yield from shot("door-exit-mode")
        door.set_direction("entry")


def _sales_states(app: KioskApp, shot: Shot) -> Script:
    from kiosk.ui.scripted import Until

    sales: SalesScreen = app.manager.get_screen("sales")
    # the pictures show the printer states set below, not the emulator's live one (its poll is held meanwhile)
    sales._printer_state_seen = lambda state: None  # type: ignore[method-assign]
    app.show("sales")
    sales.reset()
    yield Until(lambda: bool(sales.ids.performances.children), 10, "performances listed")
    yield from shot("sale-1-performance")
    sales._printer_state = "paper_out"
    sales._relabel_printer()
    yield from shot("sale-1-performance-printer-blocked")
    sales._printer_state = "ready"
    sales._relabel_printer()
    today = next(p for p in sales.ids.performances.children[::-1] if p.today)
    sales.choose_performance(today.performance_id, today.event_id)
    assert sales.catalog is not None  # the performances above come from it
    for tariff_id in sorted(sales.catalog.tariffs):
        tariff = sales.catalog.tariffs[tariff_id]
        cart = sales.cart
        assert cart is not None  # choose_performance made it
        if tariff.event_id == today.event_id and tariff.price > 0 and len(cart.lines) < 2:
            sales.step_tariff(tariff_id, 2 if not cart.lines else 1)
    yield from shot("sale-2-tickets")
    sales.go("payment")
    yield from shot("sale-3-payment")
    sales.go("cash")
    sales.set_tendered(Decimal("200"))
    yield from shot("sale-4-cash")
    sales.set_tendered(Decimal("50"))
    yield from shot("sale-4-cash-missing")
    sales.ids.card_keys.value = "004711"
    sales.go("card")
    yield from shot("sale-5-card")
    sales._show_error("card_reference_invalid")
    yield from shot("sale-5-card-error")
    sales.go("cash")
    sales._show_error("tendered_too_little")
    yield from shot("sale-4-cash-error")
    yield from _sale_end_states(sales, shot)
    del sales._printer_state_seen  # the live printer again
    sales.reset()


def _sale_end_states(sales: SalesScreen, shot: Shot) -> Script:
    """Printing, done, a sale with labels missing (printer back / dead), and the staff PIN for Print again."""
    for problem in ("paper_out", "head_open"):
        _fake_printing(sales, problem)
        yield from shot(f"sale-6-printing-{problem.replace('_', '-')}")
    _fake_printing(sales, "")
    sales.jobs_printed, sales.jobs_missing = 3, 0
    sales._to_done()
    yield from shot("sale-7-done")
    for state, name in (("ready", "not-printed"), ("unreachable", "printer-dead")):
        _fake_printing(sales, state)
        sales.jobs_printed, sales.jobs_missing = 1, 2
        sales._to_done()
        yield from shot(f"sale-8-done-{name}")
    sales.print_again()
    yield from shot("sale-9-staff-pin")
    sales.staff_cancel()


def _technician_states(app: KioskApp, shot: Shot) -> Script:
    from kiosk.ui.scripted import Until

    tech = app.manager.get_screen("technician")
    app.show("technician")
    yield from shot("technician-pin")
    tech.locked_s = 42  # the PIN lockout's countdown, keys greyed (as after five wrong PINs)
    tech._relabel()
    yield from shot("technician-pin-locked")
    tech.locked_s = 0
    tech._relabel()
    tech.unlocked = True
    tech.refresh_status()
    tech.label_preview()
    preview, lang = tech.ids.preview_image, app.lang
    no_preview = app.tr("No label preview available", lang)

    def previewed() -> bool:
        shown = (preview.source or "").endswith(f"-{lang}.png") and preview.texture is not None
        return tech._printer is not None and (shown or tech.printer_text == no_preview)

    yield Until(previewed, 15, "printer status and label preview")
    yield from shot("technician")
    yield from _technician_wipe(tech, shot)
    tech.safe_mode = True
    problems = app.services.config_problems
    app.services.config_problems = [
        "/etc/kiosk/kiosk.toml:7: printer.port: Input should be less than or equal to 65535 (got 91000)",
        "/etc/kiosk/kiosk.toml:12: device.role: Input should be 'door', 'sales' or 'both' (got 'doors')",
    ]
    tech._relabel()
    yield from shot("technician-safe-mode")
    app.services.config_problems = problems
    tech.safe_mode = False
    tech._relabel()
    tech.unlocked = False


def _technician_wipe(tech: TechnicianScreen, shot: Shot) -> Script:
    """Central's signed wipe waiting for confirmation, and a sale central refused (as the agent records them)."""
    from dataclasses import replace

    from kiosk.ui.scripted import Until

    yield 1.0  # a status refresh still on the worker would land after the state below and undo it
    sync = tech._sync
    if sync is None:  # no store on this demo: nothing to show
        return
    asked = replace(sync, wipe_requested=True, dead_letters=1, last_rejection="out_of_scope")
    real_done = tech._status_done

    def keep_asked(result: tuple[Any, Any, Any]) -> None:  # refreshes during the shot keep the state shown
        printer, _sync, space = result
        real_done((printer, asked, space))

    tech._status_done = keep_asked  # type: ignore[method-assign]

    def shown() -> bool:
        if tech._sync is not asked:  # a refresh submitted before the override landed: show the state again
            tech._sync = asked
            tech._relabel()
            return False
        return bool(tech.wipe_text)

    yield Until(shown, 5, "wipe request shown")
    yield from shot("technician-wipe-requested")
    tech._status_done = real_done  # type: ignore[method-assign]
    tech._sync = sync
    tech._relabel()


def _script(
    app: KioskApp, out: Path, langs: tuple[str, ...], report: ScreenshotReport, samples: dict[str, ScanResult]
) -> Script:
    from kiosk.ui.frames import FrameWatch
    from kiosk.ui.scripted import Until

    watch = FrameWatch()

    door = app.manager.get_screen("door")
    sales = app.manager.get_screen("sales")
    yield Until(lambda: door._catalog is not None and sales.catalog is not None, 15, "catalog loaded")
    for lang in langs:
        app.set_language(lang)

        def shot(name: str, lang: str = lang) -> Script:
            return _shot(watch, out, report, lang, name)

        yield from _door_states(app, shot, samples)
        yield from _sales_states(app, shot)
        yield from _technician_states(app, shot)
    watch.close()


def _fake_printing(sales: SalesScreen, problem: str) -> None:
    """Show the printing step with a printer problem, as the real poll would (no printer needed)."""
    from kiosk.domain.receipts import SaleReceipt
    from kiosk.domain.sales import Payment, PaymentMethod, settle
    from kiosk.ui import sale_presenters

    assert sales.cart is not None  # the tickets step filled it
    settlement = settle(sales.cart, Payment(PaymentMethod.CASH, tendered=Decimal("200")))
    now = sales.app.services.clock()
    sales.receipt = SaleReceipt("shot", "W7K2M9QX", now, settlement, (), print_jobs=("a", "b", "c"))
    sales.order_qr = sale_presenters.qr_matrix("W7K2M9QX")
    sales.go("printing")
    sales.jobs_total, sales.jobs_printed = 3, 1
    sales._printer_state = problem
    sales._relabel()


# db path → the demo's services and its expected verdicts (kiosk.compose.screenshot_demo; the CLI passes it in).
DemoMaker = Callable[[Path], "tuple[AppServices, list[tuple[str, str]]]"]


def take_screenshots(out: Path, langs: tuple[str, ...] = LANGUAGES, *, demo: DemoMaker) -> ScreenshotReport:
    from kiosk.ui.xvfb import ensure_display

    out.mkdir(parents=True, exist_ok=True)
    xvfb = ensure_display()
    os.environ.setdefault("KIOSK_MUTE", "1")
    try:
        return _run(out, langs, demo)
    finally:
        if xvfb is not None:
            xvfb.stop()


def _run(out: Path, langs: tuple[str, ...], demo: DemoMaker) -> ScreenshotReport:
    from kiosk.ui.launch import prepare_kivy

    prepare_kivy()
    from kiosk.ui.app import KioskApp
    from kiosk.ui.scripted import Sequencer

    report = ScreenshotReport()
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-shots-"))
    services, expected = demo(workdir / "demo.sqlite")
    samples = _verdict_samples(services, expected)
    app = KioskApp(services)
    app.camera = StillCamera(expected[0][0])
    seq = Sequencer(app, _script(app, out, langs, report, samples))
    seq.start(0.5)
    app.run()
    report.error = seq.error
    return report
