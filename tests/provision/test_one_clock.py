"""One injected clock: `kiosk-provision` reads time only from the clock its `main` is given."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import firmware_config.cli as provision_cli
from firmware_config.identity import read_identity
from kiosk.domain.clock import fixed_clock
from kiosk.domain.timeutil import iso
from tests.provision.conftest import MINIMAL, WriteConfig


def _config(write_config: WriteConfig) -> Path:
    return write_config(MINIMAL + '\n[paths]\nstate_dir = "state"\ndatabase = "state/kiosk.sqlite"\n')


def test_firstboot_records_the_identity_at_the_given_clock(write_config: WriteConfig) -> None:
    path = _config(write_config)
    at = datetime(2027, 3, 28, 1, 15, tzinfo=UTC)
    assert provision_cli.main(["firstboot", "--config", str(path), "--no-qr"], clock=fixed_clock(at)) == 0
    identity = read_identity(path.parent / "state")
    assert datetime.fromisoformat(identity.created_at.replace("Z", "+00:00")) == at


@pytest.mark.parametrize(("at", "verdict"), [(datetime(2019, 1, 1, tzinfo=UTC), "FAIL"), (None, "PASS")])
def test_selftest_judges_the_given_clock(
    write_config: WriteConfig, capsys: pytest.CaptureFixture[str], demo_now: datetime, at: datetime | None, verdict: str
) -> None:
    """A clock before the firmware was built fails the clock check; the demo's evening passes it."""
    path = _config(write_config)
    clock = fixed_clock(at or demo_now)
    provision_cli.main(["selftest", "--config", str(path), "--only", "clock", "--json"], clock=clock)
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == verdict, row
    assert iso(clock())[:10] in row["detail"]  # the check reports the time it was given
