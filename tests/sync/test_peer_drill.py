"""Drill: three doors writing check-ins while their agents and the broker are killed -9 at random (one door
connects for the first time halfway through); once all are online every door holds every other door's
admissions, and central every event once under the door that wrote it; forged admissions and hijacked ids are
rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.peer_drill import PeerDrill

pytestmark = pytest.mark.broker


def test_random_kills_leave_no_admission_missing_at_any_door(mosquitto, keys, tmp_path: Path) -> None:
    drill = PeerDrill(tmp_path, mosquitto, keys, ("door-a", "door-b", "door-c"), seed=20261207)
    try:
        drill.run(seconds=25, late_door="door-c")
        report = drill.settle(timeout=60)
    finally:
        drill.close()
    print("\n".join(report.lines()))
    assert sum(report.kills.values()) >= 8, report.kills
    assert report.events > 300
    assert report.missing == {"door-a": 0, "door-b": 0, "door-c": 0}, report.lines()
    assert report.lost == 0 and report.duplicated == 0, report.lines()
    # Every forgery that reached the broker while a door was subscribed is counted; none became an admission.
    assert report.forgeries_sent > 0 and report.forgeries_rejected > 0, report.lines()
    assert report.forgeries_accepted == 0, report.lines()
    # Another door's ids replayed with made-up content: rejected by central, every event kept under its writer.
    assert report.hijacks_sent > 0 and report.hijacks_rejected > 0, report.lines()
    assert report.hijacks_accepted == 0, report.lines()
