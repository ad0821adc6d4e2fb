"""Central records each device's clock skew against its own (injected) clock from the batch's `sent_at`, or from
future event times when a device does not send it; devices more than 5 minutes off are reported (stats, devices
list) and their events flagged, their times kept as given."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from kiosk.domain.clock import fixed_clock
from sync_agent.central import cli
from sync_agent.central import tables as ct
from sync_agent.central.devices import list_devices
from sync_agent.central.ingest import ingest_batch, open_central_db, stats
from sync_agent.central.service import CentralService
from sync_agent.messages import TxBatch, TxEvent
from sync_agent.mqtt import BrokerSettings
from tests.sync import event_samples as samples
from tests.sync.conftest import open_device_store, pending, queue_events, wait_until

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
AHEAD = NOW + timedelta(hours=25)


def send(engine: Engine, device: str, occurred_at: str, sent_at: str | None) -> None:
    event = samples.checkin(device)
    tx = TxEvent(seq=1, event_id=event.event_id, kind="checkin", occurred_at=occurred_at, payload=dict(event.payload))
    batch = TxBatch(v=1, batch_id=uuid.uuid4().hex, device_id=device, events=[tx], sent_at=sent_at)
    with engine.begin() as conn:
        assert ingest_batch(conn, "lac", batch, NOW).acked == [event.event_id]


@pytest.mark.broker
def test_a_device_25_hours_ahead_is_reported_and_its_events_flagged(
    mosquitto, keys, start_agent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "central.sqlite")
    central = CentralService(open_central_db(db), BrokerSettings(mosquitto.host, mosquitto.port), keys.signer,
                             clock=fixed_clock(NOW))  # fmt: skip
    central.start()
    try:
        assert central.connected.wait(10)
        store = open_device_store(tmp_path / "dev.sqlite")
        queue_events(store, 4, "door-a")
        start_agent(store, mosquitto, "door-a", keys, clock=fixed_clock(AHEAD))
        wait_until(lambda: pending(store) == 0, 20, "drained")
    finally:
        central.stop()
    engine = open_central_db(db)
    with engine.connect() as conn:
        assert stats(conn)["clock_off"] == {"door-a": 25 * 3600.0}
        rows = conn.execute(select(ct.events.c.occurred_at, ct.events.c.clock_skew_s)).all()
    assert {skew for _, skew in rows} == {90_000}
    assert sorted(at for at, _ in rows)[0] == "2026-11-28T18:00:00.000000Z"  # the device's time, as given
    capsys.readouterr()
    assert cli.main(["stats", "--db", db]) == 0
    assert "CLOCK OFF door-a: +90000 s against central" in capsys.readouterr().out
    assert cli.main(["devices", "list", "--db", db]) == 0
    assert "door-a  venue lac  role unregistered  clock +90000 s OFF" in capsys.readouterr().out


def test_skew_from_sent_at_or_future_event_times(tmp_path: Path) -> None:
    engine = open_central_db(str(tmp_path / "c.sqlite"))
    send(engine, "behind", "2026-11-28T10:00:00Z", "2026-11-28T18:50:00Z")  # 10 minutes behind
    send(engine, "close", "2026-11-28T18:59:00Z", "2026-11-28T19:02:00Z")  # 2 minutes ahead: fine
    send(engine, "old-agent", "2026-11-29T20:00:00Z", None)  # no sent_at: its events are 25 h ahead
    send(engine, "backlog", "2026-11-27T19:00:00Z", None)  # old events say nothing about the clock
    with engine.connect() as conn:
        assert stats(conn)["clock_off"] == {"behind": -600.0, "old-agent": 90_000.0}
        skews = {r["device_id"]: (r["skew_s"], r["clock_off"]) for r in list_devices(conn)}
        flags = dict(conn.execute(select(ct.events.c.device_id, ct.events.c.clock_skew_s)).all())
    assert skews == {"behind": (-600.0, True), "close": (120.0, False), "old-agent": (90_000.0, True)}
    assert flags == {"behind": -600, "close": None, "old-agent": 90_000, "backlog": None}
    send(engine, "behind", "2026-11-28T18:59:00Z", "2026-11-28T19:00:01Z")  # its clock was set: no longer off
    with engine.connect() as conn:
        assert stats(conn)["clock_off"] == {"old-agent": 90_000.0}
    assert json.loads(json.dumps(skews))  # plain JSON for --json output
