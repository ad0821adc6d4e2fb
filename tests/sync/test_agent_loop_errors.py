"""An unexpected error in one part of the agent's loop (a bug, a library raising what it never documented) does
not stop kiosk-sync: the turn is counted and logged, the loop backs off and goes on, and the STATUS line says so.
Real agent loop, real mosquitto and central; the drain is made to fail twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync_agent.central.ingest import open_central_db
from tests.sync.conftest import (
    RecordingNotifier,
    assert_exactly_once,
    central_count,
    open_device_store,
    pending,
    queue_events,
    wait_until,
)

pytestmark = pytest.mark.broker


def test_a_part_that_raises_is_counted_and_the_loop_goes_on(
    mosquitto: Any, keys: Any, start_central: Any, start_agent: Any, tmp_path: Path
) -> None:
    store = open_device_store(tmp_path / "dev.sqlite")
    central_db = str(tmp_path / "central.sqlite")
    start_central(central_db, mosquitto, keys)
    engine = open_central_db(central_db)
    notifier = RecordingNotifier()
    agent = start_agent(store, mosquitto, "door-a", keys, notifier=notifier, status_interval=0.1)
    real_pump, failures = agent.agent.drain.pump, [2]

    def pump(online: bool) -> None:
        if failures[0]:
            failures[0] -= 1
            raise RuntimeError("an ack the drain cannot handle")
        real_pump(online)

    agent.agent.drain.pump = pump
    queue_events(store, 50, "door-a")
    wait_until(lambda: failures[0] == 0 and pending(store) == 0, timeout=30, what="the drain to run again")
    assert agent.thread.is_alive()
    assert agent.agent.counters.loop_errors == 2
    assert central_count(engine) == 50
    assert_exactly_once(store, engine)
    wait_until(
        lambda: any("2 loop errors, last RuntimeError" in ln for ln in notifier.lines("STATUS=")),
        what="a STATUS line that reports the failed turns",
    )
