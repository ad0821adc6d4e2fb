"""Files and folders only their owner may read: the store (check-ins, failed-scan traces) and state folders.

Modes are set exactly (fchmod/chmod after creating), so a umask of 000 — or 022 — changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

# SQLite's companions of a store file; they hold the same data as the file itself.
SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(path: Path) -> None:
    """The store file and its WAL/shared-memory files: owner only, whatever the umask (they hold check-ins)."""
    if not path.exists():
        # O_EXCL: never follow a planted file; fchmod because the umask may have taken bits away from 0o600.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            os.fchmod(fd, 0o600)
            os.close(fd)
    for file in (path, *(path.with_name(path.name + s) for s in SIDE_FILES)):
        try:
            if file.stat().st_mode & 0o077:
                os.chmod(file, 0o600)  # an older store (0644); SQLite gives new side files the store's mode
        except (FileNotFoundError, PermissionError):
            pass  # not there, or another user's file: opening it says what is wrong


def make_private_dirs(folder: Path) -> None:
    """Make `folder` and missing parents 0700 whatever the umask; existing folders are left as they are."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for part in reversed(missing):
        try:
            part.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(part, 0o700)  # mkdir's mode is filtered by the umask only one way; make it exact
