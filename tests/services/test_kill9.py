"""kill -9 a process that is scanning: every check-in it reported as done is in the database after restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from kiosk.adapters.store.engine import Store, open_store
from kiosk.demo.venue import DemoVenue

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta
    from kiosk.adapters.store.engine import open_store
    from kiosk.compose_services import scanning_service

    store = open_store(sys.argv[1])
    now = datetime.fromisoformat(sys.argv[3])  # the instant the venue was built for, not today
    service = scanning_service(store, "door-kill", clock=lambda: now, debounce=timedelta(0))
    codes = [line.split("\\t")[0] for line in open(sys.argv[2], encoding="utf-8")]
    i = 0
    while True:
        result = service.scan(codes[i % len(codes)], "main")
        # Reported to the user only after the transaction committed.
        print(result.scan_id, result.verdict.code.value, flush=True)
        i += 1
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [5, 40, 150])
def test_killed_scanner_loses_no_reported_checkin(tmp_path: Path, kill_after: int, demo_now: datetime) -> None:
    db = tmp_path / "k.sqlite"
    store = open_store(db, create=True)
    from kiosk.demo.venue import build_demo_venue, install_demo_venue

    now = demo_now
    venue: DemoVenue = build_demo_venue(now, 120, seed=kill_after)
    install_demo_venue(store, venue, None, now)
    store.close()
    codes_file = tmp_path / "codes.tsv"
    codes_file.write_text("".join(f"{c}\t{v}\n" for c, v in venue.expected), "utf-8")

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(codes_file), now.isoformat()], stdout=subprocess.PIPE, text=True
    )
    reported: list[str] = []
    assert child.stdout is not None
    for line in child.stdout:
        reported.append(line.split()[0])
        if len(reported) >= kill_after:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(timeout=10)
    # Anything printed after the kill decision but already in the pipe also counts as reported.
    reported += [line.split()[0] for line in child.stdout.read().splitlines() if line.strip()]
    assert child.returncode == -signal.SIGKILL

    reopened: Store = open_store(db)  # recovery of the WAL happens here
    with reopened.read() as conn:
        stored = {
            r[0] for r in conn.exec_driver_sql("select scan_id from checkins union select scan_id from failed_scans")
        }
        outbox = {r[0] for r in conn.exec_driver_sql("select event_id from outbox")}
        integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
    reopened.close()
    assert integrity == "ok"
    missing = [s for s in reported if s not in stored]
    assert not missing, f"{len(missing)} reported scans lost"
    assert set(reported) <= outbox
    assert stored == outbox  # no row without its outbox event, and the reverse
