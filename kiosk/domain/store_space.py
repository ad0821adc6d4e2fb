"""How much room the store has left, as the status, the technician screen and the self-test say it (pure).

The store keeps a reserve file beside itself; when a write fails with a full disk it deletes the reserve, so the
last scans and the sync status row still fit while a technician frees space. "low" comes before any write fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SpaceLevel(StrEnum):
    OK = "ok"
    LOW = "low"  # less than the warning margin left: warn, everything still works
    FULL = "full"  # the reserve is used up (or could not be made): the next writes may fail


@dataclass(frozen=True)
class SpaceView:
    free_bytes: int  # free for this user on the store's filesystem, not counting the reserve
    wal_bytes: int
    reserve_bytes: int  # held by the reserve file now; 0 once it was released
    level: SpaceLevel

    @property
    def warning(self) -> str | None:
        """An English sentence for the technician (translated by the screen), or None when all is well."""
        kb = self.free_bytes // 1024
        if self.level is SpaceLevel.FULL:
            return f"Disk full: the store is using its last reserve ({kb} KB free); free space now"
        if self.level is SpaceLevel.LOW:
            return f"Disk almost full: {kb} KB left for the store; free space soon"
        return None


def space_level(free_bytes: int, reserve_bytes: int, wanted_reserve: int, warn_free_bytes: int) -> SpaceLevel:
    """FULL once the reserve is gone, LOW below the warning margin, else OK."""
    if wanted_reserve and reserve_bytes < wanted_reserve:
        return SpaceLevel.FULL
    if free_bytes < warn_free_bytes:
        return SpaceLevel.LOW
    return SpaceLevel.OK
