"""Central enforces each device's scope from its registry (a door may not sell, a sales device may not scan, an
unregistered device of a registered venue is refused), bounds payloads, and refuses negative, absurd or
inconsistent sale figures; every refusal carries a stable reason and nothing refused is stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from kiosk.domain.outbox import OutboxEvent
from sync_agent.central import cli
from sync_agent.central import tables as ct
from sync_agent.central.devices import add_device
from sync_agent.central.ingest import IngestResult, ingest_batch, open_central_db, stats
from sync_agent.messages import TxBatch, TxEvent
from tests.sync import event_samples as samples

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = open_central_db(str(tmp_path / "central.sqlite"))
    with engine.begin() as conn:
        add_device(conn, "door-a", "lac", "door", NOW, None)
        add_device(conn, "till-1", "lac", "sales", NOW, None)
        add_device(conn, "both-1", "lac", "both", NOW, None)
    return engine


def tx(event: OutboxEvent, **payload: Any) -> TxEvent:
    body = {**event.payload, **payload}
    return TxEvent(seq=1, event_id=event.event_id, kind=event.kind, occurred_at="2026-11-28T18:00:00Z", payload=body)


def send(engine: Engine, device: str, *events: TxEvent, venue: str = "lac") -> IngestResult:
    batch = TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=list(events))
    with engine.begin() as conn:
        return ingest_batch(conn, venue, batch, NOW)


def reasons(result: IngestResult) -> list[str]:
    return [r.reason for r in result.rejected]


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ct.events)).scalar_one())


def negative_sale(device: str) -> TxEvent:
    sale = samples.sale(device)
    return tx(sale, payment={**sale.payload["payment"], "total": "-500.00"})


def test_a_door_only_devices_sale_of_minus_500_is_out_of_scope_and_not_stored(engine: Engine) -> None:
    result = send(engine, "door-a", negative_sale("door-a"), tx(samples.sale("door-a")), tx(samples.reprint("door-a")))
    assert reasons(result) == ["out_of_scope"] * 3 and result.acked == []
    assert stored(engine) == 0
    checkin, failed = samples.checkin("door-a"), samples.failed_scan("door-a")
    assert send(engine, "door-a", tx(checkin), tx(failed)).acked == [checkin.event_id, failed.event_id]


def test_a_sales_device_may_sell_and_reprint_but_not_scan(engine: Engine) -> None:
    sale, reprint = samples.sale("till-1"), samples.reprint("till-1")
    result = send(
        engine, "till-1", tx(sale), tx(reprint), tx(samples.checkin("till-1")), tx(samples.failed_scan("till-1"))
    )
    assert result.acked == [sale.event_id, reprint.event_id]
    assert reasons(result) == ["out_of_scope", "out_of_scope"]
    assert len(send(engine, "both-1", *(tx(e) for e in samples.every_kind("both-1"))).acked) == 4


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"total": "-500.00"}, "malformed:payment"),
        ({"tendered": "-50.00"}, "malformed:payment"),
        ({"total": "900000000.00"}, "malformed:payment"),
        ({"total": "40.00"}, "inconsistent:payment"),  # the lines make 45.00
        ({"change": "50.00"}, "inconsistent:payment"),  # tendered 50 - due 45 is 5
        ({"rounding": "0.10", "due": "45.10"}, "inconsistent:payment"),  # cash rounds by at most 0.025
        ({"method": "free"}, "inconsistent:payment"),  # free sales total 0
    ],
)
def test_a_sales_devices_negative_absurd_or_inconsistent_sale_is_refused(
    engine: Engine, change: dict[str, str], reason: str
) -> None:
    sale = samples.sale("till-1")
    assert sale.payload["payment"]["total"] == "45.00"
    assert reasons(send(engine, "till-1", tx(sale, payment={**sale.payload["payment"], **change}))) == [reason]
    lines = [{**sale.payload["lines"][0], "unit_price": "-22.50"}]
    assert reasons(send(engine, "till-1", tx(samples.sale("till-1"), lines=lines))) == ["malformed:lines"]
    one_ticket = samples.sale("till-1")
    extra = tx(one_ticket, tickets=one_ticket.payload["tickets"][:1])  # two sold, one ticket
    assert reasons(send(engine, "till-1", extra)) == ["inconsistent:tickets"]
    assert stored(engine) == 0


def test_unknown_devices_of_a_registered_venue_are_refused_and_an_unregistered_venue_runs_open(engine: Engine) -> None:
    stranger = samples.checkin("door-x")
    assert reasons(send(engine, "door-x", tx(stranger))) == ["unknown_device"]
    assert reasons(send(engine, "door-a", tx(samples.checkin("door-a")), venue="other")) == ["unknown_device"]
    sale = samples.sale("door-z")  # a venue nobody registered: every device counts as `both`, as before
    assert send(engine, "door-z", tx(sale), venue="open-venue").acked == [sale.event_id]
    with engine.connect() as conn:
        assert stats(conn)["rejected"] == {"unknown_device": 2}


def test_an_oversize_payload_of_an_unknown_kind_is_refused_unstored(engine: Engine) -> None:
    big = TxEvent(seq=1, event_id=str(uuid.uuid4()), kind="voucher", occurred_at="2026-11-28T18:00:00Z",
                  payload={"v": 1, "device_id": "door-a", "blob": "x" * 200_000})  # fmt: skip
    small = TxEvent(seq=2, event_id=str(uuid.uuid4()), kind="voucher", occurred_at="2026-11-28T18:00:00Z",
                    payload={"v": 1, "device_id": "door-a"})  # fmt: skip
    assert reasons(send(engine, "door-a", big, small)) == ["too_large", "unknown_kind"]
    assert stored(engine) == 0


def test_the_devices_command_registers_lists_and_removes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "c.sqlite")
    key = "ab" * 32
    assert cli.main(["devices", "add", "--db", db, "--device", "door-a", "--venue", "lac", "--role", "door",
                     "--public-key", key]) == 0  # fmt: skip
    assert cli.main(["devices", "add", "--db", db, "--device", "till-1", "--venue", "lac", "--role", "sales"]) == 0
    capsys.readouterr()
    assert cli.main(["devices", "list", "--db", db, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["device_id"], r["role"], r["public_key"]) for r in rows] == [
        ("door-a", "door", key),
        ("till-1", "sales", None),
    ]
    assert cli.main(["devices", "remove", "--db", db, "--device", "till-1"]) == 0
    assert cli.main(["devices", "remove", "--db", db, "--device", "till-1"]) == 1
    assert cli.main(["devices", "add", "--db", db, "--device", "x", "--venue", "lac", "--role", "door",
                     "--public-key", "nothex"]) == 2  # fmt: skip


def test_a_payload_nested_deeper_than_any_model_is_refused_not_raised(engine: Engine) -> None:
    deep = json.loads('{"v": 1, "device_id": "door-a", "x": ' + "[" * 900 + "]" * 900 + "}")
    nested = TxEvent(
        seq=1, event_id=str(uuid.uuid4()), kind="checkin", occurred_at="2026-11-28T18:00:00Z", payload=deep
    )
    good = samples.checkin("door-a")
    result = send(engine, "door-a", nested, tx(good))
    assert reasons(result) == ["malformed:payload"] and result.acked == [good.event_id]


def test_no_device_is_registered_under_the_central_accounts_name(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="central service's broker account"):
        add_device(conn, "central", "lac", "door", NOW, None)
