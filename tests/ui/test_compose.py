"""compose: the configured device (store, roles, sales key from first boot) and safe mode, without a window."""

from __future__ import annotations

from pathlib import Path

from kiosk.compose import compose_from_config

GOOD = """\
version = 2

[device]
id = "{id}"
venue = "theatre-du-lac"
gate = "main"
role = "{role}"

[paths]
database = "kiosk.sqlite"
state_dir = "state"

[printer]
host = "127.0.0.1"
port = 9
"""


def test_a_door_config_scans_and_cannot_sell(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(id="door-7", role="door"))
    services = compose_from_config(config)
    try:
        assert not services.safe_mode
        assert (services.device_id, services.gate, services.role) == ("door-7", "main", "door")
        assert services.can_scan and not services.can_sell
        assert services.selling is not None and not services.selling.can_sell
        assert (tmp_path / "kiosk.sqlite").exists()
    finally:
        services.close()


def test_a_sales_config_without_an_enrolled_key_cannot_sell_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(id="sales-2", role="sales"))
    services = compose_from_config(config)
    try:
        assert not services.can_sell
        assert any("sales key" in p and "firstboot" in p for p in services.config_problems)
        assert any("technician.pin_hash" in p for p in services.config_problems)
    finally:
        services.close()


def test_broken_config_gives_safe_mode_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(id="Bad Id!", role="door"))
    services = compose_from_config(config)
    assert services.safe_mode and services.store is None and not services.can_scan and not services.can_sell
    assert any(p.startswith(f"{config}:4: device.id") for p in services.config_problems), services.config_problems
    not_toml = tmp_path / "junk.toml"
    not_toml.write_text("[device\nvenue = ")
    junk = compose_from_config(not_toml)
    assert junk.safe_mode and junk.config_problems and str(not_toml) in junk.config_problems[0]


def test_a_sales_device_sells_once_central_lists_its_first_boot_key(tmp_path: Path, demo_now) -> None:
    from dataclasses import replace
    from decimal import Decimal

    from firmware_config.identity import create_identity
    from kiosk.adapters.store.engine import open_store
    from kiosk.demo import venue as dv
    from kiosk.domain.clock import fixed_clock
    from kiosk.domain.codes import Keyring, verify
    from kiosk.domain.model import IssuerKey
    from kiosk.domain.sales import Cart, Payment, PaymentMethod

    identity = create_identity(tmp_path / "state", demo_now, device_id="sales-2")
    store = open_store(tmp_path / "kiosk.sqlite", create=True)
    venue = dv.build_demo_venue(demo_now, 5, seed=1)
    own = IssuerKey(7, identity.public_key, "sales-2")
    venue = replace(venue, catalog=replace(venue.catalog, keys=(*venue.catalog.keys, own)))
    dv.install_demo_venue(store, venue, None, demo_now)
    store.close()
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(id="sales-2", role="sales"))
    services = compose_from_config(config, clock=fixed_clock(demo_now))
    try:
        assert services.can_sell, services.config_problems
        assert services.selling is not None
        cart = Cart(dv.PERF_TODAY, dv.FESTIVAL).set_quantity(venue.catalog.tariffs[dv.T_FULL], 1)
        receipt = services.selling.sell("o-1", cart, Payment(PaymentMethod.CARD, reference="T-1"))
        claims = verify(receipt.tickets[0].code, Keyring([own]))  # signed with the device's own key
        assert claims.key_id == 7 and receipt.settlement.due == Decimal("45.00")
    finally:
        services.close()


def test_the_composition_hands_one_clock_to_the_services_the_printing_port_and_the_app(
    tmp_path: Path, demo_now
) -> None:
    from datetime import timedelta

    from kiosk.compose import compose_demo, demo_expected
    from kiosk.domain.clock import SteppingClock
    from kiosk.domain.print_jobs import JobState

    clock = SteppingClock(demo_now)
    db = tmp_path / "demo.sqlite"
    services = compose_demo(db, now=demo_now, clock=clock, camera=False, printing=True, tickets=20)
    try:
        assert services.clock is clock and services.scanning is not None and services.store is not None
        clock.advance(timedelta(minutes=7))
        code = next(c for c, v in demo_expected(db) if v == "valid")
        assert services.scanning.scan(code, "main").scanned_at == demo_now + timedelta(minutes=7)
        clock.advance(timedelta(minutes=1))
        services.printing.test_print()
        journal = services.printing.journal  # type: ignore[attr-defined]
        with services.store.read() as conn:
            [job] = journal.jobs(conn)
        assert job.kind == "test" and job.created_at == demo_now + timedelta(minutes=8)
        assert job.state in (JobState.QUEUED, JobState.SENT, JobState.CONFIRMED)
    finally:
        services.close()


def test_kiosk_demo_without_a_display_falls_back_to_headless(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "demo", "--db", str(tmp_path / "d.sqlite")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no display here" in proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    assert lines and all(x["verdict"] == x["expected"] for x in lines)
