"""A device looping on `resync` cannot make central flood the venue with ticket snapshots: asks are coalesced,
one publication at once and one owed at the end of the interval covering every ask in between."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.demo.venue import DemoVenue
from sync_agent.central.resync import RESYNC_MIN_INTERVAL_S, ResyncCoalescer
from sync_agent.documents import ticket_to_doc
from sync_agent.topics import DeviceTopics, VenueTopics
from tests.sync.conftest import VENUE, VENV_BIN, wait_until


def test_asks_inside_the_interval_make_one_owed_publication() -> None:
    published: list[str] = []
    second = threading.Event()

    def publish(venue: str) -> None:
        published.append(venue)
        if len(published) == 2:
            second.set()

    coalescer = ResyncCoalescer(publish, interval_s=0.3)
    for _ in range(50):
        coalescer.ask("lac")
    coalescer.ask("other")  # another venue has its own interval
    assert published == ["lac", "other"]
    assert coalescer.coalesced == 49
    assert second.wait(5)
    wait_until(lambda: published.count("lac") == 2, 5, "the owed publication")
    assert published.count("lac") == 2 and published.count("other") == 1
    coalescer.stop()


@pytest.mark.broker
def test_a_resync_flood_reaches_the_venue_as_two_snapshots(
    demo_venue: tuple[Any, DemoVenue], mosquitto: Any, keys: Any, start_central: Any, tmp_path: Path
) -> None:
    _, venue = demo_venue
    central_db = str(tmp_path / "central.sqlite")
    svc = start_central(central_db, mosquitto, keys)
    (tmp_path / "tickets.json").write_text(json.dumps([ticket_to_doc(tk) for tk in venue.tickets[:3]]))
    common = ["--db", central_db, "--broker", mosquitto.url, "--key", str(keys.key_file), "--venue", VENUE]
    subprocess.run([str(VENV_BIN / "kiosk-central"), "publish-tickets", *common, str(tmp_path / "tickets.json")],
                   check=True, capture_output=True)  # fmt: skip
    snapshots: list[bytes] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watcher", protocol=mqtt.MQTTv5)
    watcher.on_message = lambda _c, _u, msg: snapshots.append(bytes(msg.payload)) if not msg.retain else None
    subscribed = threading.Event()
    watcher.on_subscribe = lambda *_a: subscribed.set()
    watcher.connect(mosquitto.host, mosquitto.port)
    watcher.loop_start()
    door = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="door-a", protocol=mqtt.MQTTv5)
    door.connect(mosquitto.host, mosquitto.port)
    door.loop_start()
    try:
        watcher.subscribe(VenueTopics(VENUE).tickets_snapshot, qos=1)
        assert subscribed.wait(10), "no SUBACK for the watcher"  # else the first snapshot arrives as retained
        ask = json.dumps({"v": 1, "device_id": "door-a", "reason": "gap"})
        infos = [door.publish(DeviceTopics(VENUE, "door-a").resync, ask, qos=1) for _ in range(30)]
        for info in infos:
            info.wait_for_publish(5)
        wait_until(lambda: svc.resyncs.coalesced == 29, 30, "every ask counted")
        wait_until(lambda: len(snapshots) >= 2, RESYNC_MIN_INTERVAL_S + 30, "the immediate and the owed snapshot")
        assert svc.resyncs.published == 2
        assert len(snapshots) == 2
    finally:
        for c in (watcher, door):
            c.disconnect()
            c.loop_stop()
