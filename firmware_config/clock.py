"""The last time seen from central, kept in the state directory so the self-test can tell a sane clock.

The sync agent calls `record_central_time` with the time in central's signed messages (acks, commands). A device
whose clock is behind that time (a dead RTC battery after a power cut) would mark scans in the past and judge
validity windows wrongly; one far ahead would expire tickets early.

This is not a time source: what time it is comes from the injected `kiosk.domain.clock.Clock`; this module only
remembers the latest instant central vouched for.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from kiosk.adapters.private_files import make_private_dirs

CENTRAL_TIME_FILE = "central_time.json"


def record_central_time(state_dir: Path, central_time: datetime) -> None:
    """Atomically remember `central_time` (aware) if it is newer than what is stored."""
    if central_time.tzinfo is None:
        raise ValueError("central_time must be timezone-aware")
    previous = last_central_time(state_dir)
    if previous is not None and previous >= central_time:
        return
    state_dir = Path(state_dir)
    make_private_dirs(state_dir)  # 0700 whatever the umask
    fd, tmp = tempfile.mkstemp(prefix=".central_time.", dir=state_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"central_time": central_time.astimezone(UTC).isoformat()}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, state_dir / CENTRAL_TIME_FILE)


def last_central_time(state_dir: Path) -> datetime | None:
    """The stored time, or None if central was never heard from (or the file is damaged)."""
    try:
        data = json.loads((Path(state_dir) / CENTRAL_TIME_FILE).read_text(encoding="utf-8"))
        value = datetime.fromisoformat(data["central_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if value.tzinfo is not None else None
