"""Command expiry at each fixed instant: a signed command older than COMMAND_MAX_AGE by the device's clock is
refused as expired, a younger one runs once, whatever the date (DST switches, New Year's Eve)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from kiosk.adapters.store.engine import Store
from kiosk.demo.venue import DemoVenue
from kiosk.domain.clock import fixed_clock
from kiosk.domain.timeutil import iso
from sync_agent.inbound import COMMAND_MAX_AGE, InboundHandler
from sync_agent.topics import DeviceTopics

pytestmark = pytest.mark.all_dates

SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("age", "outcome"),
    [(SECOND, "applied"), (COMMAND_MAX_AGE - SECOND, "applied"), (COMMAND_MAX_AGE + SECOND, "expired")],
    ids=["just-issued", "just-inside", "just-too-old"],
)
def test_a_command_expires_by_the_devices_clock(
    demo_venue: tuple[Store, DemoVenue],
    keys: Any,
    frozen_now: datetime,
    age: timedelta,
    outcome: str,
) -> None:
    store, _ = demo_venue
    topics = DeviceTopics("lac", "door-a")
    handler = InboundHandler(store, topics, keys.verifier(), fixed_clock(frozen_now), lambda *_: None)
    body = {"v": 1, "type": "command", "command_id": "c-1", "device_id": "door-a", "name": "ping",
            "issued_at": iso(frozen_now - age)}  # fmt: skip
    assert handler.handle(topics.cmd, json.dumps(keys.signer.envelope(body)).encode()) == outcome
