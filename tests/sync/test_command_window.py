"""Commands from the future: at each fixed instant, a signed command more than COMMAND_MAX_AHEAD ahead of central's
time as the device knows it is refused (`future_command`), and so is one older than COMMAND_MAX_AGE (`expired`);
central's known time, not a wrong device clock, decides once central was heard from."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kiosk.adapters.store.engine import Store
from kiosk.demo.venue import DemoVenue
from kiosk.domain.clock import fixed_clock
from kiosk.domain.timeutil import iso
from sync_agent.central_time import CentralTime
from sync_agent.commands import COMMAND_MAX_AGE, COMMAND_MAX_AHEAD
from sync_agent.inbound import InboundHandler
from sync_agent.topics import DeviceTopics

pytestmark = pytest.mark.all_dates

SECOND = timedelta(seconds=1)
TOPICS = DeviceTopics("lac", "door-a")
_ids = itertools.count(1)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def send(handler: InboundHandler, keys: Any, issued: datetime | str) -> str:
    body = {"v": 1, "type": "command", "command_id": f"c-{next(_ids)}", "device_id": "door-a", "name": "ping",
            "issued_at": issued if isinstance(issued, str) else iso(issued)}  # fmt: skip
    return handler.handle(TOPICS.cmd, json.dumps(keys.signer.envelope(body)).encode())


@pytest.mark.parametrize(
    ("ahead", "outcome"),
    [(COMMAND_MAX_AHEAD - SECOND, "applied"), (COMMAND_MAX_AHEAD + SECOND, "future_command"), (None, "future_command")],
    ids=["just-inside", "just-too-far", "year-2099"],
)
def test_a_command_from_the_future_is_refused_by_the_devices_clock_when_central_was_never_heard(
    demo_venue: tuple[Store, DemoVenue], keys: Any, frozen_now: datetime, ahead: timedelta | None, outcome: str
) -> None:
    store, _ = demo_venue
    central = CentralTime(None, 60.0, monotonic=FakeMonotonic())
    clock = fixed_clock(frozen_now)
    handler = InboundHandler(store, TOPICS, keys.verifier(), clock, lambda *_: None,
                             on_central_time=central.saw, central_now=central.now)  # fmt: skip
    issued = datetime(2099, 1, 1, tzinfo=UTC) if ahead is None else frozen_now + ahead
    assert send(handler, keys, issued) == outcome
    # A refused command from the future does not drag central's known time forward; an accepted one is recorded.
    assert central.now() == (None if outcome == "future_command" else issued)


def test_central_time_known_corrects_a_device_clock_that_is_behind(
    demo_venue: tuple[Store, DemoVenue], keys: Any, frozen_now: datetime
) -> None:
    store, _ = demo_venue
    tick = FakeMonotonic()
    central = CentralTime(None, 60.0, monotonic=tick)
    device_clock = frozen_now - timedelta(days=3)  # an RTC that lost power
    handler = InboundHandler(store, TOPICS, keys.verifier(), fixed_clock(device_clock), lambda *_: None,
                             on_central_time=central.saw, central_now=central.now)  # fmt: skip
    assert send(handler, keys, frozen_now) == "future_command"  # by the device clock alone
    central.saw(frozen_now)  # a verified ack's `at`
    tick.t += 3600  # an hour later by the monotonic clock, whatever the device's wall clock says
    now = frozen_now + timedelta(hours=1)
    assert central.now() == now
    assert send(handler, keys, now) == "applied"
    assert send(handler, keys, now - COMMAND_MAX_AGE + SECOND) == "applied"
    assert send(handler, keys, now - COMMAND_MAX_AGE - SECOND) == "expired"
    assert send(handler, keys, now + COMMAND_MAX_AHEAD + SECOND) == "future_command"
    assert send(handler, keys, "2099-01-01T00:00:00+00:00") == "future_command"
    assert central.now() == now  # neither the old nor the future ones moved it


def test_replayed_old_commands_do_not_pull_centrals_time_back(
    demo_venue: tuple[Store, DemoVenue], keys: Any, frozen_now: datetime
) -> None:
    """An old signed command (expired, or 23 h old and still inside the window) seen first must not make the
    device take that instant for central's time, or every fresh command after it would look like the future."""
    store, _ = demo_venue
    central = CentralTime(None, 60.0, monotonic=FakeMonotonic())
    handler = InboundHandler(store, TOPICS, keys.verifier(), fixed_clock(frozen_now), lambda *_: None,
                             on_central_time=central.saw, central_now=central.now)  # fmt: skip
    assert send(handler, keys, frozen_now - timedelta(days=400)) == "expired"
    assert send(handler, keys, frozen_now - timedelta(hours=23)) == "applied"
    assert send(handler, keys, frozen_now + COMMAND_MAX_AHEAD - SECOND) == "applied"
