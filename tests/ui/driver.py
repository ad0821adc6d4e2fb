"""Runs the real app in this process (under the test's Xvfb) and drives it with simulated touches and keys.

    python -m tests.ui.driver SCENARIO WORKDIR [--now ISO] [--printer-port N --control-port M]

Writes WORKDIR/result.json with what the screens showed; the tests then check it together with the database
and the printer emulator. Each scenario is a generator run by `kiosk.ui.scripted.Sequencer`. With `--now` the
venue is made for that instant (default: the suite's DEMO_NOW) and the app's clock starts there and runs at real
speed, whatever today is.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.ui.launch import prepare_kivy

prepare_kivy()

from kivy.core.window import Window  # noqa: E402

from kiosk.compose import AppServices, compose_demo, demo_expected  # noqa: E402
from kiosk.demo import venue as dv  # noqa: E402
from kiosk.services.scanning import DEFAULT_DEBOUNCE  # noqa: E402
from kiosk.ui.frames import FrameWatch  # noqa: E402
from kiosk.ui.layout_check import visible_labels  # noqa: E402
from kiosk.ui.scripted import Sequencer, Until, tap  # noqa: E402
from tests.fixtures.clocks import running_clock  # noqa: E402

DEMO_NOW = "2026-11-28T18:00:00+00:00"  # tests.conftest.DEMO_NOW: a Saturday evening in Neuchâtel
_WATCH: list[FrameWatch] = []  # one per process, made when the first script step waits (the window exists then)


def settled(what: str, timeout: float = 10) -> Until:
    """Wait until the screen has finished changing: no transition, no pending layout, two identical frames.

    Touches go to where widgets *are*: tapping before a moved panel is laid out misses it (a flaky test once).
    """
    if not _WATCH:
        _WATCH.append(FrameWatch())
    return Until(_WATCH[0].settled, timeout, f"{what} (screen settled)")


def debounce_over(app: Any) -> Until:
    """Wait on the app's clock until a repeat of the last scan is a new scan, not the earlier verdict again."""
    clock = app.services.clock
    since = clock()  # after the verdict was shown, so after the scan was stamped
    return Until(lambda: clock() - since > DEFAULT_DEBOUNCE, 10, "the scanning debounce window is over")


def texts() -> list[str]:
    return [w.text for w in visible_labels(Window)]


def wedge(code: str) -> None:
    """A USB keyboard-wedge scanner: the characters in one fast burst, then Enter."""
    for ch in code:
        Window.dispatch("on_textinput", ch)
    Window.dispatch("on_key_down", 13, 0, "\r", [])


def type_on_keypad(keypad: Any, code: str) -> None:
    keys = {getattr(b, "key", None): b for b in keypad.children}
    for ch in code:
        tap(keys[ch])


def verdict_seen(door: Any) -> dict[str, Any]:
    return {
        "kind": door.v_kind,
        "shape": door.v_shape,
        "title": door.v_title,
        "tariff": door.v_tariff,
        "detail": door.v_detail,
        "texts": texts(),
    }


def verdict_on_screen(door: Any, what: str) -> Until:
    """The verdict's title is drawn on screen: read it then, not after the frames settle. Under load settling took
    longer than a green verdict stays (1.6 s) and the test read an empty screen (a flaky test once)."""
    return Until(lambda: door.verdict_visible and door.v_title in texts(), 10, what)


def door_script(app: Any, out: dict[str, Any], workdir: Path) -> Iterator[Any]:
    door = app.manager.get_screen("door")
    expected = demo_expected(workdir / "demo.sqlite")
    code = next(c for c, v in expected if v == "valid" and len(c) < 20)
    out["code"] = code
    yield Until(lambda: door._catalog is not None, 15, "door status")
    out["lang"] = app.lang
    out["start_texts"] = texts()
    out["screens"] = app.manager.offered
    # 1. typed on the on-screen keypad with touches
    tap(door.ids.open_keypad)
    yield settled("keypad open")
    out["keypad_open"] = door.keypad_open
    type_on_keypad(door.ids.code_keys, code)
    out["typed"] = door.ids.typed.text
    tap(door.ids.keypad_ok)
    yield verdict_on_screen(door, "first verdict")
    out["first"] = verdict_seen(door)
    out["first"]["sound"] = app.sounds.last
    yield Until(lambda: not door.verdict_visible, 5, "verdict clears by itself")
    out["cleared_by_itself"] = True
    # 2. the same code again from the USB scanner, after the camera debounce window
    yield debounce_over(app)
    wedge(code)
    yield verdict_on_screen(door, "second verdict")
    out["second"] = verdict_seen(door)
    out["second"]["sound"] = app.sounds.last
    tap(door.ids.verdict)  # a tap dismisses it at once
    yield settled("verdict dismissed")
    out["dismissed_by_tap"] = not door.verdict_visible
    # 3. junk from the scanner: refused in words
    wedge("NOT-A-TICKET-123")
    yield verdict_on_screen(door, "third verdict")
    out["third"] = verdict_seen(door)
    out["third"]["sound"] = app.sounds.last
    tap(door.ids.verdict)
    yield settled("verdict dismissed")
    # 4. exit, where the gate's list allows exits
    out["allow_exit"] = door.allow_exit
    tap(door.ids.dir_exit)
    yield settled("exit chosen")
    out["direction"] = door.direction
    tap(door.ids.open_keypad)
    yield settled("keypad open")
    type_on_keypad(door.ids.code_keys, code)
    tap(door.ids.keypad_ok)
    yield Until(lambda: door.verdict_visible, 10, "exit verdict")
    yield settled("exit verdict shown")
    out["exit"] = verdict_seen(door)
    tap(door.ids.verdict)
    yield settled("verdict dismissed")
    app._poll_status(0)
    yield Until(lambda: door.admitted == 1 and door.inside == 0, 10, "counters after exit")
    out["counters"] = [door.admitted, door.inside]
    out["badge"] = door.badge_text
    # 5. language button
    tap(door.ids.language)
    yield settled("language changed")
    out["lang_after_tap"] = app.lang
    out["hint_after_tap"] = door.ids.hint.text


def send_control(port: int, line: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(line.encode() + b"\n")
        return sock.recv(4096).decode()


def sale_script(app: Any, out: dict[str, Any], control_port: int) -> Iterator[Any]:
    door = app.manager.get_screen("door")
    sales = app.manager.get_screen("sales")
    yield Until(lambda: door._catalog is not None, 15, "door status")
    tap(door.ids.to_sales)
    yield Until(lambda: len(sales.ids.performances.children) > 0, 10, "performances")
    yield settled("performances listed")
    buttons = sales.ids.performances.children[::-1]
    out["performances"] = [b.text for b in buttons]
    out["performance_ids"] = [b.performance_id for b in buttons]
    festival_today = next(b for b in buttons if b.performance_id == dv.PERF_TODAY)
    tap(festival_today)
    yield Until(lambda: sales.step == "tickets" and len(sales.ids.tariffs.children) > 0, 5, "tariffs")
    yield settled("tariffs listed")
    rows = {r.tariff_id: r for r in sales.ids.tariffs.children}
    out["tariff_rows"] = [(r.name, r.price) for r in sales.ids.tariffs.children[::-1]]
    tap(rows[dv.T_FULL].ids.plus)
    tap(rows[dv.T_FULL].ids.plus)
    tap(rows[dv.T_CHILD].ids.plus)
    tap(rows[dv.T_CHILD].ids.plus)
    tap(rows[dv.T_CHILD].ids.minus)
    yield settled("cart changed")
    out["cart_text"] = sales.cart_text
    tap(sales.ids.to_payment)
    yield settled("payment step")
    tap(sales.ids.pay_cash)
    yield settled("cash step")
    out["cash_due"] = sales.due_text
    quick = {str(b.amount): b for b in sales.ids.quick_cash.children}
    out["quick_amounts"] = sorted(quick)
    tap(quick["200"])
    yield settled("amount tendered")
    out["change_text"] = sales.change_text
    out["paper_out"] = send_control(control_port, "paper_out on")
    tap(sales.ids.cash_confirm)
    yield Until(lambda: sales.step == "printing" and bool(sales.printer_problem), 15, "printer problem shown")
    out["printing_problem"] = sales.printer_problem
    out["printing_texts"] = texts()
    out["printed_during_fault"] = sales.jobs_printed
    send_control(control_port, "paper_out off")
    yield Until(lambda: sales.step == "done", 30, "printing resumed and finished")
    out["jobs"] = [sales.jobs_printed, sales.jobs_total]
    out["done_texts"] = texts()
    out["order_ref"] = sales.receipt.order_ref
    yield settled("done step")
    # a second sale: free invitations, back/cancel on the way
    tap(sales.ids.new_sale)
    yield Until(lambda: sales.step == "performance" and len(sales.ids.performances.children) > 0, 10, "restart")
    yield Until(lambda: not sales.gate_blocked, 10, "the start screen sees the paper back")
    yield settled("sale restarted")
    tap(next(b for b in sales.ids.performances.children if b.performance_id == dv.PERF_TODAY))
    yield Until(lambda: sales.step == "tickets" and len(sales.ids.tariffs.children) > 0, 5, "tariffs again")
    yield settled("tariffs listed")
    rows = {r.tariff_id: r for r in sales.ids.tariffs.children}
    tap(rows[dv.T_INVITE].ids.plus)  # a free tariff: the staff PIN first (the demo is an attended counter)
    yield settled("staff PIN asked")
    type_on_keypad(sales.ids.staff_keys, "1234")
    tap(sales.ids.staff_ok)
    yield Until(lambda: sales.cart is not None and sales.cart.count == 1, 10, "invitation added")
    yield settled("invitation added")
    tap(sales.ids.to_payment)
    yield settled("payment step")
    out["free_enabled"] = [not sales.ids.pay_cash.disabled, not sales.ids.pay_free.disabled]
    tap(sales.ids.pay_free)
    yield Until(lambda: sales.step == "done", 30, "free sale printed")
    out["free_order_ref"] = sales.receipt.order_ref


def idle_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    sales = app.manager.get_screen("sales")
    app.show("sales")
    yield Until(lambda: len(sales.ids.performances.children) > 0, 10, "performances")
    yield settled("performances listed")
    tap(sales.ids.language)  # the buyer switches to German...
    yield settled("language changed")
    tap(sales.ids.performances.children[-1])
    yield Until(lambda: len(sales.ids.tariffs.children) > 0, 5, "tariffs")
    tap(sales.ids.tariffs.children[-1].ids.plus)
    yield settled("cart changed")
    out["before"] = [sales.step, sales.cart.count if sales.cart else 0, app.lang]
    yield Until(lambda: sales.step == "performance", 10, "idle reset")
    out["after"] = [sales.step, sales.cart is None, app.lang]


def door_only_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    door = app.manager.get_screen("door")
    yield Until(lambda: door._catalog is not None, 15, "door status")
    out["screens"] = app.manager.offered
    out["sales_button"] = [door.ids.to_sales.disabled, door.ids.to_sales.opacity]
    tap(door.ids.to_sales)
    yield settled("sales button tapped")
    out["current_after_tap"] = app.manager.current


def camera_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    door = app.manager.get_screen("door")
    yield Until(lambda: door.verdict_visible, 30, "a verdict from the camera")
    out["first"] = verdict_seen(door)
    out["frames_shown"] = door.frames_shown
    yield Until(lambda: door.scans_shown >= 2 and door.v_kind == "stop", 30, "the second code of the reel")
    out["second"] = verdict_seen(door)
    out["camera_codes"] = list(app.camera.last_codes)
    app.show("technician")
    tech = app.manager.get_screen("technician")
    # not `settled`: the camera counters change the technician's texts ten times a second
    yield Until(lambda: app.manager.current_screen is tech and not app.manager.transition.is_active, 5, "technician")
    tech.try_pin("0000")
    yield Until(lambda: bool(tech._message), 5, "wrong PIN answer")
    out["wrong_pin"] = [tech.unlocked, tech.pin_hint]
    tech.try_pin("1234")
    yield Until(lambda: tech.unlocked and all((tech.printer_text, tech.sync_text, tech.camera_text)), 10, "unlocked")
    out["tech"] = {"camera": tech.camera_text, "printer": tech.printer_text, "sync": tech.sync_text}


def build(args: argparse.Namespace) -> AppServices:
    workdir = Path(args.workdir)
    # The venue is made for --now and the app's clock starts there: no scenario reads today's date.
    now = datetime.fromisoformat(args.now)
    clock = running_clock(now)
    role = "door" if args.scenario == "door_only" else "both"
    db = workdir / "demo.sqlite"
    if args.scenario == "camera":
        compose_demo(db, now=now, camera=False, printing=False, tickets=60).close()  # the venue, then film two codes
        expected = demo_expected(db)
        reel = [next(c for c, v in expected if v == "valid"), next(c for c, v in expected if v == "unknown")]
        return compose_demo(db, now=now, clock=clock, camera=True, printing=False, reel=reel)
    printing = args.scenario == "idle"  # the sales start screen waits for a printer that can print
    services = compose_demo(db, now=now, clock=clock, camera=False, printing=printing, role=role, tickets=60)
    if args.printer_port:
        from kiosk.adapters.zebra import ZebraPrinter
        from kiosk.compose_services import print_journal, print_worker, selling_service
        from kiosk.services.selling import SalesKey
        from kiosk.ui.printing_port import JournalPrinting

        assert services.store is not None
        printer = ZebraPrinter("127.0.0.1", args.printer_port, connect_timeout=1.0, read_timeout=1.0)
        journal = print_journal()
        worker = print_worker(services.store, printer, journal, clock=clock, idle_poll=0.1, fault_poll=0.2).start()
        port = JournalPrinting(services.store, worker, journal, clock=clock)
        keys = dv.read_private_keys(workdir / "demo.sqlite.issuer-keys.json")
        key = SalesKey(dv.SALES_KIOSK_KEY_ID, keys[dv.SALES_KIOSK_KEY_ID])
        services.printing = port
        services.selling = selling_service(
            services.store, services.device_id, can_sell=True, sales_key=key, labels=port.labels, clock=clock
        )
        services.closers.append(port.close)
    if args.scenario == "idle":
        services.idle_timeout_s = 1.5
    return services


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["door", "sale", "idle", "door_only", "camera"])
    parser.add_argument("workdir")
    parser.add_argument("--printer-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument(
        "--now", default=DEMO_NOW, help="ISO instant the venue is made for and the app's clock starts at"
    )
    args = parser.parse_args()
    from kiosk.ui.app import KioskApp

    services = build(args)
    app = KioskApp(services)
    out: dict[str, Any] = {}
    scripts = {
        "door": lambda: door_script(app, out, Path(args.workdir)),
        "sale": lambda: sale_script(app, out, args.control_port),
        "idle": lambda: idle_script(app, out),
        "door_only": lambda: door_only_script(app, out),
        "camera": lambda: camera_script(app, out),
    }
    seq = Sequencer(app, scripts[args.scenario]())
    seq.start(0.3)
    app.run()
    out["error"] = seq.error
    (Path(args.workdir) / "result.json").write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 1 if seq.error else 0


if __name__ == "__main__":
    sys.exit(main())
