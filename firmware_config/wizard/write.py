"""Atomic writes: every file goes to a temporary file beside its target, is synced, then renamed into place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from kiosk.domain.errors import KioskError


class WriteError(KioskError):
    """Nothing was written (targets exist, or the directory is not writable)."""

    reason = "config_not_written"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_files(
    directory: Path, files: Mapping[str, tuple[str | bytes, int]], *, overwrite: bool = False
) -> list[Path]:
    """Write name → (content, mode) into `directory`, all or nothing (as far as renames allow).

    Every target is checked, then every temporary file is written and synced, and only then are they renamed:
    a failure before the renames leaves the old files untouched and no temporary files behind.
    """
    directory = Path(directory)
    targets = {name: directory / name for name in files}
    if not overwrite:
        existing = [str(p) for p in targets.values() if p.exists()]
        if existing:
            raise WriteError(f"refusing to overwrite {', '.join(existing)} (use --force to replace)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create {directory}: {exc.strerror}") from None
    staged: list[tuple[Path, Path]] = []
    try:
        for name, (content, mode) in files.items():
            target = targets[name]
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            staged.append((Path(tmp_name), target))
            os.fchmod(fd, mode)  # before any byte is written: a secret is never readable by others, even briefly
            with os.fdopen(fd, "wb") as handle:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as exc:
        for leftover, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        raise WriteError(f"cannot write into {directory}: {exc.strerror or exc}") from None
    for staged_file, target in staged:
        os.replace(staged_file, target)
    for parent in {target.parent for _, target in staged}:
        _fsync_dir(parent)
    return [target for _, target in staged]
