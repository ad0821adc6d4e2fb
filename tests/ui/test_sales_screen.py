"""Walk-up sales in a real window: touches through a whole sale, a printer fault shown in words and resumed,
what the database and the printer emulator received, free tickets, and the idle reset."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from babel.dates import format_date, format_time
from sqlalchemy import select

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.engine import open_store
from kiosk.adapters.store.repositories import SqlCatalogStore
from kiosk.adapters.store.sales_tables import sales_orders
from kiosk.adapters.zpl import hex_field
from kiosk.demo import venue as dv
from kiosk.demo.printer_emulator import PrinterEmulator
from kiosk.domain.sales import performances_on_sale
from kiosk.domain.timeutil import VENUE_TZ, venue_day
from tests.ui.conftest import run_driver

pytestmark = pytest.mark.ui


@pytest.fixture
def controlled_printer(tmp_path: Path):
    """The printer emulator with its control port, so the app-side script can pull paper out and put it back."""
    emu = PrinterEmulator(out_dir=tmp_path / "printed", png=False, control_port=0).start()
    yield emu
    emu.stop()


def expected_when(starts_at: datetime, now: datetime) -> str:
    """The day and time a French sales screen shows for a performance, worked out from `now` alone."""
    local = starts_at.astimezone(VENUE_TZ)
    day = "Aujourd'hui" if venue_day(starts_at) == venue_day(now) else format_date(local, "EEE d MMM", locale="fr_CH")
    return f"{day} {format_time(local, 'short', locale='fr_CH')}"


@pytest.mark.all_dates
def test_whole_sale_with_paper_out_then_resume(
    kivy_env, tmp_path: Path, controlled_printer, frozen_now: datetime
) -> None:
    emu = controlled_printer
    seen = run_driver(
        kivy_env,
        "sale",
        tmp_path / "app",
        "--now",
        frozen_now.isoformat(),
        "--printer-port",
        str(emu.port),
        "--control-port",
        str(emu.control_port),
    )
    nbsp = "\xa0"
    # today's performances first (multi-date event: tomorrow's date last), in French (the default language)
    store = open_store(tmp_path / "app" / "demo.sqlite")
    with store.read() as conn:
        catalog = SqlCatalogStore().load(conn)
    store.close()
    on_sale = performances_on_sale(catalog.performances.values(), frozen_now)
    assert seen["performance_ids"] == [p.id for p in on_sale]
    assert [p.split("\n")[1] for p in seen["performances"]] == [expected_when(p.starts_at, frozen_now) for p in on_sale]
    local = frozen_now.astimezone(VENUE_TZ)
    if (local.weekday(), local.hour) == (6, 19):  # a Sunday evening, as the test was first written for
        assert [p.split("\n")[1].split(" ")[0] for p in seen["performances"]] == ["Aujourd'hui", "Aujourd'hui", "lun."]
    assert ["Plein tarif", f"CHF{nbsp}45.00"] in seen["tariff_rows"]
    assert ["Invitation", "Gratuit"] in seen["tariff_rows"]
    assert seen["cart_text"] == f"3 billets · total CHF{nbsp}105.00"  # 2 full + 2 child − 1 child
    assert seen["cash_due"] == f"À payer en espèces : CHF{nbsp}105.00"
    assert seen["quick_amounts"] == ["105.00", "200"]
    assert seen["change_text"] == f"Monnaie à rendre : CHF{nbsp}95.00"
    # the printer's problem, in words, while the labels wait; then it resumes by itself
    assert seen["printing_problem"] == "Plus de papier : chargez un nouveau rouleau d'étiquettes."
    assert "Billets imprimés : 0 sur 3" in seen["printing_texts"]
    assert seen["printed_during_fault"] == 0
    assert seen["jobs"] == [3, 3]
    assert "Merci ! Prenez vos billets." in seen["done_texts"]
    assert f"Commande {seen['order_ref']}" in seen["done_texts"]
    assert seen["free_enabled"] == [False, True]  # invitations only: no cash button, a free confirm

    store = open_store(tmp_path / "app" / "demo.sqlite")
    with store.read() as conn:
        orders = {r.order_ref: r for r in conn.execute(select(sales_orders))}
        sold = conn.execute(select(t.tickets).where(t.tickets.c.source == "sale")).all()
        sale_events = conn.execute(select(t.outbox).where(t.outbox.c.kind == "sale")).all()
    store.close()
    paid, free = orders[seen["order_ref"]], orders[seen["free_order_ref"]]
    assert (paid.method, str(paid.due), str(paid.tendered), str(paid.change)) == ("cash", "105.00", "200.00", "95.00")
    assert (free.method, str(free.total)) == ("free", "0.00")
    assert sorted(r.tariff_id for r in sold) == sorted([dv.T_FULL, dv.T_FULL, dv.T_CHILD, dv.T_INVITE])
    assert len(sale_events) == 2
    labels = emu.wait_for_labels(4, timeout=10)
    assert len(labels) == 4  # one label per ticket, none twice
    for label in labels:
        assert label.startswith(b"^XA") and b"^CI28" in label
    # each sold ticket's signed code is printed (hex-escaped field data) on exactly one label
    for ticket in sold:
        assert ticket.code is not None
        assert sum(hex_field(ticket.code).encode() in label for label in labels) == 1


def test_idle_timeout_returns_a_half_finished_sale_to_the_start(kivy_env, tmp_path: Path) -> None:
    seen = run_driver(kivy_env, "idle", tmp_path)
    assert seen["before"] == ["tickets", 1, "de"]
    assert seen["after"] == ["performance", True, "fr"]  # the next buyer starts in the kiosk's default language
    store = open_store(tmp_path / "demo.sqlite")
    with store.read() as conn:
        assert conn.execute(select(sales_orders)).first() is None  # nothing was sold
    store.close()
