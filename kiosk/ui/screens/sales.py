"""Walk-up sales: performance → tickets (steppers, cart) → payment (cash / card terminal / free) → printing → done.

The cart is a pure `Cart` value; the sale itself is one call to `SellingService.sell` in a worker. The order id is
made when the buyer first confirms and kept until the sale succeeds, so a retry after an error never sells twice.
An idle timeout returns a half-finished sale to the start; a paid sale is never interrupted.
"""

from __future__ import annotations

import logging
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, Screen

from kiosk.domain.catalog import Catalog
from kiosk.domain.money import parse_cash_typed
from kiosk.domain.receipts import SaleReceipt
from kiosk.domain.sales import Cart, Payment, PaymentMethod, SaleError, quick_cash_amounts, round_cash, settle
from kiosk.ui import i18n, presenters
from kiosk.ui import sale_presenters as sp
from kiosk.ui.i18n import N_
from kiosk.ui.screens.sale_staff import QrCode, SaleStaff
from kiosk.ui.widgets.common import TouchButton

if TYPE_CHECKING:  # the app imports the screens
    from kiosk.ui.app import KioskApp

__all__ = ["PerformanceButton", "QrCode", "SalesScreen", "TariffRowWidget"]
log = logging.getLogger(__name__)
UNPAID_STEPS = ("tickets", "payment", "cash", "card")
STEP_TITLES = {
    "performance": N_("Buy tickets"),
    "tickets": N_("Choose your tickets"),
    "payment": N_("Payment"),
    "cash": N_("Cash payment"),
    "card": N_("Card payment"),
    "printing": N_("Printing"),
    "done": N_("Thank you"),
    "staff": N_("Staff"),
}


class PerformanceButton(TouchButton):
    performance_id = NumericProperty(0)
    event_id = NumericProperty(0)
    today = BooleanProperty(False)


class TariffRowWidget(BoxLayout):  # type: ignore[misc]  # Kivy has no type stubs
    tariff_id = NumericProperty(0)
    name = StringProperty("")
    price = StringProperty("")
    icon = StringProperty("")
    quantity = NumericProperty(0)

    def __init__(self, screen: SalesScreen, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.screen = screen

    def step(self, delta: int) -> None:
        self.screen.step_tariff(self.tariff_id, delta)


class SalesScreen(SaleStaff, Screen):  # type: ignore[misc]  # Kivy has no type stubs
    title_text = StringProperty("")
    error_text = StringProperty("")
    performance_text = StringProperty("")
    cart_text = StringProperty("")
    cart_count = NumericProperty(0)
    total_text = StringProperty("")
    is_free = BooleanProperty(False)
    due_text = StringProperty("")
    received_text = StringProperty("")
    change_text = StringProperty("")
    change_tone = ListProperty(list(sp.OK_TONE))
    change_after_text = StringProperty("")
    jobs_total = NumericProperty(0)
    jobs_printed = NumericProperty(0)
    jobs_missing = NumericProperty(0)
    printer_problem = StringProperty("")
    gate_blocked = BooleanProperty(False)
    gate_buyer = StringProperty("")
    gate_staff = StringProperty("")
    done_title = StringProperty("")
    done_count = StringProperty("")
    done_hint = StringProperty("")
    done_tone = ListProperty(list(sp.OK_TONE))
    order_ref_text = StringProperty("")
    order_qr = ListProperty([])
    staff_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app: KioskApp = App.get_running_app()
        self.catalog: Catalog | None = None
        self.cart: Cart | None = None
        self.order_id: str | None = None
        self.receipt: SaleReceipt | None = None
        self.tendered: Decimal | None = None
        self._error_reason = ""
        self._last_touch = time.monotonic()
        self._init_staff()
        self._idle_event = Clock.schedule_interval(self._check_idle, 1.0)
        self.app.bind(lang=lambda *_: self._relabel())
        Window.bind(on_touch_down=lambda *_: self.touched())
        Clock.schedule_once(lambda _dt: self._after_kv(), 0)

    def _after_kv(self) -> None:
        self.ids.steps.transition = NoTransition()
        self.reset()

    @property
    def step(self) -> str:
        current: str = self.ids.steps.current
        return current

    def go(self, step: str) -> None:
        self.error_text = ""
        self._error_reason = ""
        self.ids.steps.current = step
        self._relabel()

    def touched(self) -> None:
        self._last_touch = time.monotonic()

    # ---- start / reset ---------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the start: empty cart, fresh order id next time, catalog reloaded in the background."""
        self.cart = None
        self.order_id = None
        self.receipt = None
        self.tendered = None
        self._stop_print_events()
        self._job_ids, self._staff, self._staff_ok = (), None, False
        self.jobs_total = self.jobs_printed = self.jobs_missing = 0
        self.order_qr = []
        self.ids.cash_keys.clear()
        self.ids.card_keys.clear()
        self.go("performance")
        self.load_catalog()

    def cancel(self) -> None:
        self.reset()

    def reset_for_next_buyer(self) -> None:
        """Nobody is there any more: back to the start, in the kiosk's default language."""
        self.app.set_language(self.app.services.default_lang)
        self.reset()

    def on_enter(self, *_: object) -> None:
        self.touched()
        if self.step == "performance":
            self.load_catalog()

    def load_catalog(self) -> None:
        status = self.app.services.status
        if status is None:
            return
        self.app.worker.submit(status.catalog, done=self._catalog_loaded)

    def _catalog_loaded(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._relabel()

    def _check_idle(self, _dt: float) -> None:
        timeout = self.app.services.idle_timeout_s
        unpaid = self.step in UNPAID_STEPS or (self.step == "staff" and self.receipt is None)
        if unpaid and time.monotonic() - self._last_touch > timeout:
            log.info("idle for %ss: sale reset", timeout)
            self.reset_for_next_buyer()

    # ---- texts (re-made when the language or the cart changes) ------------------------------------------------
    def _relabel(self) -> None:
        app, lang, tr = self.app, self.app.lang, self.app.tr
        self.title_text = tr(STEP_TITLES.get(self.step, STEP_TITLES["performance"]), lang)
        if self._error_reason:
            self.error_text = presenters.sale_error_text(SaleError(self._error_reason), tr, lang)
        if self.step == "performance":
            self._fill_performances()
        cart = self.cart
        if cart is not None and self.catalog is not None:
            rows = presenters.performance_rows(
                self.catalog, [self.catalog.performances[cart.performance_id]], app.services.clock(), lang, tr
            )
            self.performance_text = f"{rows[0].title} · {rows[0].when}"
            self._fill_tariffs(self.catalog, cart)
            self.cart_text = presenters.cart_summary(cart, lang, tr)
            self.cart_count = cart.count
            self.is_free = not cart.is_empty and cart.total == 0
            self.total_text = tr("Total: {total}", lang).format(total=i18n.chf(cart.total, lang))
            cash_due = round_cash(cart.total)
            self.due_text = tr("Due in cash: {due}", lang).format(due=i18n.chf(cash_due, lang))
            self._fill_quick_cash(cash_due)
            if self.tendered is None:
                self.received_text = tr("Cash received: type or tap an amount", lang)
            else:
                self.received_text = tr("Cash received: {amount}", lang).format(amount=i18n.chf(self.tendered, lang))
            self.change_text, tone = sp.cash_line(self.tendered, cash_due, tr, lang)
            self.change_tone = list(tone)
        receipt = self.receipt
        if receipt is not None:
            s = receipt.settlement
            self.change_after_text = (
                tr("Change to give: {change}", lang).format(change=i18n.chf(s.change, lang)) if s.change > 0 else ""
            )
        self._relabel_printer()

    def _fill_performances(self) -> None:
        box = self.ids.performances
        box.clear_widgets()
        if self.catalog is None:
            return
        from kiosk.domain.sales import performances_on_sale

        now = self.app.services.clock()
        perfs = performances_on_sale(self.catalog.performances.values(), now)
        for row in presenters.performance_rows(self.catalog, perfs, now, self.app.lang, self.app.tr):
            btn = PerformanceButton(
                text=f"{row.title}\n{row.when}",
                performance_id=row.performance_id,
                event_id=row.event_id,
                today=row.today,
            )
            btn.bind(on_release=lambda b: self.choose_performance(b.performance_id, b.event_id))
            box.add_widget(btn)

    def _fill_tariffs(self, catalog: Catalog, cart: Cart) -> None:
        box = self.ids.tariffs
        rows = presenters.tariff_rows(catalog, cart, self.app.lang, self.app.tr)
        rows = sp.sellable_tariffs(rows, lambda r: r.tariff_id, catalog, self.app.services.attended)
        existing = {w.tariff_id: w for w in box.children}
        if set(existing) != {r.tariff_id for r in rows}:
            box.clear_widgets()
            existing = {}
            for r in rows:
                w = TariffRowWidget(self, tariff_id=r.tariff_id)
                box.add_widget(w)
                existing[r.tariff_id] = w
        for r in rows:
            w = existing[r.tariff_id]
            w.name, w.price, w.icon, w.quantity = r.name, r.price, r.icon, r.quantity

    def _fill_quick_cash(self, due: Decimal) -> None:
        box = self.ids.quick_cash
        box.clear_widgets()
        for amount in quick_cash_amounts(due):
            btn = TouchButton(text=i18n.chf(amount, self.app.lang), base_font=24)
            btn.amount = amount
            btn.bind(on_release=lambda b: self.set_tendered(b.amount))
            box.add_widget(btn)

    # ---- choosing --------------------------------------------------------------------------------------------
    def choose_performance(self, performance_id: int, event_id: int) -> None:
        if not self.printer_can_print():  # no money is taken for a ticket that cannot be printed
            self._relabel_printer()
            return
        self.cart = Cart(int(performance_id), int(event_id))
        self.order_id = None
        self.go("tickets")

    def step_tariff(self, tariff_id: int, delta: int) -> None:
        if self.cart is None or self.catalog is None:
            return
        free = sp.is_free_tariff(self.catalog, int(tariff_id))
        if free and delta > 0 and not (self.app.services.attended and self._staff_ok):
            if self.app.services.attended:  # unattended: free tariffs are not even listed
                self.ask_staff("free", lambda: self.step_tariff(tariff_id, delta))
            return
        self.cart = self.cart.step(self.catalog.tariffs[int(tariff_id)], delta)
        self.order_id = None  # a changed cart is a new order
        self._relabel()

    def to_payment(self) -> None:
        if self.cart is None or self.cart.is_empty:
            self._show_error("cart_empty")
            return
        if not self.printer_can_print():
            self._show_error("printer_down")
            return
        self.go("payment")

    # ---- paying ----------------------------------------------------------------------------------------------
    def set_tendered(self, amount: Decimal) -> None:
        self.ids.cash_keys.value = str(amount)

    def cash_typed(self, text: str) -> None:
        self._clear_error()  # the error was about the amount before this key
        self.tendered = parse_cash_typed(text)  # only what the keypad types: digits and one "."
        self._relabel()

    def confirm_cash(self) -> None:
        self._confirm(Payment(PaymentMethod.CASH, tendered=self.tendered))

    def confirm_card(self, reference: str) -> None:
        self._confirm(Payment(PaymentMethod.CARD, reference=reference))

    def confirm_free(self) -> None:
        self._confirm(Payment(PaymentMethod.FREE))

    def _confirm(self, payment: Payment) -> None:
        if self.cart is None:
            return
        try:
            settle(self.cart, payment)  # the same check the service makes, to answer at once
        except SaleError as err:
            self._show_error(err.reason)
            return
        if self.order_id is None:
            self.order_id = str(uuid.uuid4())
        selling = self.app.services.selling
        if selling is None:  # never: the app offers the sales screen only with a selling service
            return
        cart, order_id, lang = self.cart, self.order_id, self.app.lang
        self.app.worker.submit(selling.sell, order_id, cart, payment, lang, done=self._sold, failed=self._sale_failed)

    def _sale_failed(self, exc: BaseException) -> None:
        if isinstance(exc, SaleError):
            self._show_error(exc.reason)
            if exc.reason in ("price_changed", "tariff_unknown", "performance_over", "performance_unknown"):
                self.load_catalog()
        else:
            log.error("sale failed", exc_info=exc)
            self._show_error("failed")

    def card_typed(self, _text: str) -> None:
        self._clear_error()

    def _clear_error(self) -> None:
        self._error_reason = ""
        self.error_text = ""

    def _show_error(self, reason: str) -> None:
        self._error_reason = reason
        self.error_text = presenters.sale_error_text(SaleError(reason), self.app.tr, self.app.lang)

    def _sold(self, receipt: SaleReceipt) -> None:
        self.receipt = receipt
        self.order_qr = sp.qr_matrix(receipt.order_ref)
        self.app.worker.submit(self.app.services.printing.wake)
        self.jobs_printed = 0
        self.jobs_missing = len(receipt.print_jobs)
        self.printer_problem = ""
        if receipt.print_jobs:
            self._follow_jobs(receipt.print_jobs)
        else:
            self.jobs_total = self.jobs_missing = 0
            self._to_done()
