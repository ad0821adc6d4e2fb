"""The sales screen's printer and staff scenarios in the real app (under the test's Xvfb), as tests.ui.driver does.

    python -m tests.ui.sale_driver SCENARIO WORKDIR --printer-port N --control-port M [--unattended]

Scenarios: `reprint` (the printer drops the connection mid-job, then staff print again), `gate` (the start screen
with paper out), `free` (invitations behind the staff PIN, or not offered), `keypad` (card and cash errors).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.ui.launch import prepare_kivy

prepare_kivy()

from kivy.core.window import Window  # noqa: E402

from kiosk.demo import venue as dv  # noqa: E402
from kiosk.ui import sale_presenters as sp  # noqa: E402
from kiosk.ui.scripted import Sequencer, Until, tap  # noqa: E402
from tests.ui.driver import DEMO_NOW, build, send_control, settled, texts, type_on_keypad  # noqa: E402


def to_tickets(app: Any) -> Iterator[Any]:
    sales = app.manager.get_screen("sales")
    app.show("sales")
    yield Until(lambda: len(sales.ids.performances.children) > 0, 15, "performances")
    yield Until(lambda: sales._printer_state == "ready", 15, "the printer's first status")
    yield settled("performances listed")
    tap(next(b for b in sales.ids.performances.children if b.performance_id == dv.PERF_TODAY))
    yield Until(lambda: sales.step == "tickets" and len(sales.ids.tariffs.children) > 0, 5, "tariffs")
    yield settled("tariffs listed")


def pay_cash(sales: Any) -> Iterator[Any]:
    tap(sales.ids.to_payment)
    yield settled("payment step")
    tap(sales.ids.pay_cash)
    yield settled("cash step")
    tap({str(b.amount): b for b in sales.ids.quick_cash.children}["200"])
    yield settled("amount tendered")
    tap(sales.ids.cash_confirm)


def give_pin(sales: Any, pin: str) -> Iterator[Any]:
    type_on_keypad(sales.ids.staff_keys, pin)
    tap(sales.ids.staff_ok)
    yield Until(lambda: not sales.ids.staff_keys.value, 5, "PIN sent")
    yield settled("PIN answered")


def reprint_script(app: Any, out: dict[str, Any], control: int) -> Iterator[Any]:
    sales = app.manager.get_screen("sales")
    yield from to_tickets(app)
    tap({r.tariff_id: r for r in sales.ids.tariffs.children}[dv.T_FULL].ids.plus)
    yield settled("one ticket")
    send_control(control, "drop on")  # the connection closes as the label arrives: outcome unknown
    yield from pay_cash(sales)
    yield Until(lambda: sales.step == "done", 30, "the sale ends with its label not printed")
    yield settled("done step")
    out["missing_done"] = {
        "texts": texts(),
        "count": sales.done_count,
        "print_again": [sales.ids.print_again.opacity, sales.ids.print_again.disabled],
        "ref": sales.receipt.order_ref,
        "qr": len(sales.order_qr),
        "ref_font": sales.ids.order_ref.base_font,
        "tone": list(sales.done_tone),
    }
    send_control(control, "drop off")
    send_control(control, "refuse on")  # the printer is dead: the buyer is told to keep the reference
    yield Until(lambda: sales._printer_state == "unreachable", 15, "printer seen unreachable")
    yield settled("dead printer shown")
    out["dead_hint"] = sales.done_hint
    send_control(control, "refuse off")
    yield Until(lambda: sales._printer_state == "ready", 15, "printer back")
    yield settled("printer back shown")
    out["back_hint"] = sales.done_hint
    out["back_count"] = sales.done_count
    tap(sales.ids.print_again)
    yield settled("staff PIN asked")
    out["staff_step"] = [sales.step, sales.staff_text]
    yield from give_pin(sales, "9999")
    out["wrong_pin"] = [sales.step, sales.staff_text]
    yield from give_pin(sales, "1234")
    yield Until(lambda: sales.step == "done" and sales.jobs_printed == 1, 30, "the reprint printed")
    yield settled("done after reprint")
    out["after"] = {
        "texts": texts(),
        "count": sales.done_count,
        "print_again": sales.ids.print_again.opacity,
        "jobs": list(sales._job_ids),
    }
    tap(sales.ids.print_again)  # invisible now: a printed sale is not printed again by a stray touch
    yield settled("stray tap")
    out["after_stray_tap"] = sales.step


def gate_script(app: Any, out: dict[str, Any], control: int) -> Iterator[Any]:
    sales = app.manager.get_screen("sales")
    send_control(control, "paper_out on")
    app.show("sales")
    yield Until(lambda: len(sales.ids.performances.children) > 0, 15, "performances")
    yield Until(lambda: sales.gate_blocked, 15, "paper out seen on the start screen")
    yield settled("gate shown")
    out["blocked"] = {"texts": texts(), "buyer": sales.gate_buyer, "staff": sales.gate_staff}
    tap(next(b for b in sales.ids.performances.children if b.performance_id == dv.PERF_TODAY))
    yield settled("tapped while blocked")
    out["step_while_blocked"] = sales.step
    send_control(control, "paper_out off")
    yield Until(lambda: not sales.gate_blocked, 15, "printer ready again")
    yield settled("gate gone")
    out["texts_after"] = texts()
    tap(next(b for b in sales.ids.performances.children if b.performance_id == dv.PERF_TODAY))
    yield settled("tapped when ready")
    out["step_when_ready"] = sales.step
    send_control(control, "head_open on")  # the printer fails during the sale: no payment step
    yield Until(lambda: sales.gate_blocked, 15, "head open seen")
    tap({r.tariff_id: r for r in sales.ids.tariffs.children}[dv.T_FULL].ids.plus)
    yield settled("a ticket")
    tap(sales.ids.to_payment)
    yield settled("payment refused")
    out["payment_refused"] = [sales.step, sales.error_text]
    send_control(control, "head_open off")


def free_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    sales = app.manager.get_screen("sales")
    yield from to_tickets(app)
    rows = {r.tariff_id: r for r in sales.ids.tariffs.children}
    out["tariffs"] = sorted(rows)
    out["attended"] = app.services.attended
    if dv.T_INVITE not in rows:
        sales.step_tariff(dv.T_INVITE, 1)  # even if asked in code, an unattended kiosk adds no free ticket
        out["cart_after_code"] = sales.cart.count
        return
    tap(rows[dv.T_INVITE].ids.plus)
    yield settled("staff PIN asked")
    out["asked"] = [sales.step, sales.staff_text, sales.cart.count]
    tap(sales.ids.staff_cancel)
    yield settled("cancelled")
    out["after_cancel"] = [sales.step, sales.cart.count]
    tap(rows[dv.T_INVITE].ids.plus)
    yield settled("staff PIN asked again")
    yield from give_pin(sales, "1234")
    out["after_pin"] = [sales.step, sales.cart.count]
    tap(rows[dv.T_INVITE].ids.plus)  # the staff member is there: no PIN for each invitation
    yield settled("second invitation")
    out["second"] = [sales.step, sales.cart.count]


def keypad_script(app: Any, out: dict[str, Any]) -> Iterator[Any]:
    sales = app.manager.get_screen("sales")
    yield from to_tickets(app)
    tap({r.tariff_id: r for r in sales.ids.tariffs.children}[dv.T_FULL].ids.plus)
    yield settled("one ticket")
    tap(sales.ids.to_payment)
    yield settled("payment step")
    tap(sales.ids.pay_card)
    yield settled("card step")
    tap(sales.ids.card_confirm)  # no reference typed: an error
    yield settled("card error")
    keys = {getattr(b, "key", None): b for b in sales.ids.card_keys.children}
    bar_top = sales.ids.card_confirm.top
    out["card_error"] = sales.error_text
    out["card_error_visible"] = sales.error_text in texts()
    out["keys_above_bar"] = all(b.y >= bar_top - 1 for b in keys.values())
    out["back_key"] = [keys["back"].y, bar_top, Window.height]
    type_on_keypad(sales.ids.card_keys, "4")
    yield settled("typed")
    out["card_error_after_key"] = sales.error_text
    tap(sales.ids.card_back)
    yield settled("payment step")
    tap(sales.ids.pay_cash)
    yield settled("cash step")
    type_on_keypad(sales.ids.cash_keys, "10")
    yield settled("too little typed")
    out["missing"] = [sales.change_text, list(sales.ids.cash_change.color)]
    tap(sales.ids.cash_confirm)
    yield settled("cash error")
    out["cash_error"] = sales.error_text
    type_on_keypad(sales.ids.cash_keys, "0")
    yield settled("100 typed")
    out["cash_error_after_key"] = sales.error_text
    out["change"] = [sales.change_text, list(sales.ids.cash_change.color)]
    out["tones"] = {"ok": list(sp.OK_TONE), "warning": list(sp.WARNING_TONE)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["reprint", "gate", "free", "keypad"])
    parser.add_argument("workdir")
    parser.add_argument("--printer-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--unattended", action="store_true")
    parser.add_argument("--now", default=DEMO_NOW)
    args = parser.parse_args()
    from kiosk.ui.app import KioskApp

    services = build(args)
    services.attended = not args.unattended
    app = KioskApp(services)
    out: dict[str, Any] = {}
    scripts = {
        "reprint": lambda: reprint_script(app, out, args.control_port),
        "gate": lambda: gate_script(app, out, args.control_port),
        "free": lambda: free_script(app, out),
        "keypad": lambda: keypad_script(app, out),
    }
    seq = Sequencer(app, scripts[args.scenario]())
    seq.start(0.3)
    app.run()
    out["error"] = seq.error
    (Path(args.workdir) / "result.json").write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 1 if seq.error else 0


if __name__ == "__main__":
    sys.exit(main())
