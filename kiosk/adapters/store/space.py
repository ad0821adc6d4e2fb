"""The store's disk: a reserve file released when the disk fills, free space and WAL size measured for the status.

A 2 MB store filled after 66 scans because its WAL grew to 1.8 MB; the WAL is now bounded by the engine's
pragmas and an idle `wal_checkpoint(TRUNCATE)`, and `RESERVE_BYTES` beside the store are given back the moment
a write fails with a full disk, so what follows (the last scans, the agent's status row) still fits.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from kiosk.domain.store_space import SpaceView, space_level

log = logging.getLogger(__name__)

RESERVE_BYTES = 256 * 1024
# Warn while this much is still free (about 60 scans' worth of rows, outbox events and WAL on a small disk).
WARN_FREE_BYTES = 512 * 1024
_CHUNK = 64 * 1024


def reserve_path(db: Path) -> Path:
    return db.with_name(db.name + ".reserve")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def free_bytes(db: Path) -> int:
    st = os.statvfs(db.parent)
    return st.f_bavail * st.f_frsize


def make_reserve(db: Path, size: int, margin: int = 0) -> bool:
    """Write the reserve (real blocks, not a sparse file) if it is missing and `margin` stays free; True if held."""
    target = reserve_path(db)
    if size <= 0 or _size(target) >= size:
        return True
    if free_bytes(db) < size + margin:
        return False
    partial = target.with_name(target.name + ".new")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            for _ in range(0, size, _CHUNK):
                os.write(fd, b"\0" * _CHUNK)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
    except OSError as exc:  # no room after all: no reserve, and the status says so
        with contextlib.suppress(OSError):
            partial.unlink()
        log.warning("%s: cannot make the space reserve: %s", target, exc)
        return False
    return True


def release_reserve(db: Path) -> bool:
    """Give the reserve's space back to the store; True if there was one."""
    try:
        reserve_path(db).unlink()
    except FileNotFoundError:
        return False
    log.warning("%s: the disk is full; the space reserve was released for the last writes", db)
    return True


def measure(db: Path, wanted_reserve: int, warn_free_bytes: int) -> SpaceView:
    """Free space, WAL size and reserve now; a released reserve is made again once there is room for it."""
    make_reserve(db, wanted_reserve, margin=warn_free_bytes)
    free, reserve = free_bytes(db), _size(reserve_path(db))
    level = space_level(free, reserve, wanted_reserve, warn_free_bytes)
    return SpaceView(free, _size(db.with_name(db.name + "-wal")), reserve, level)
