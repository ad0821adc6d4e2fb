"""End of an event: wipe what is venue- and device-specific, but never events central has not acknowledged yet.

Removes the store (with its WAL), everything in the state directory (identity and private key, central time),
the config and secrets files, and the Wi-Fi profiles under a root. Private keys and secrets are overwritten with
zeros before they are unlinked (best effort: flash wear levelling may keep old blocks; the real protection is that
central revokes the device key when the device is unenrolled).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from firmware_config.schema import KioskConfig
from firmware_config.wizard.wifi import NM_DIR, WPA_DIR
from kiosk.domain.errors import KioskError

_SIDE_FILES = ("-wal", "-shm", "-journal")


class WipeRefused(KioskError):
    """Wiping now would lose data (unsynced events) or cannot be checked; nothing was removed."""

    reason = "wipe_refused"


@dataclass
class WipePlan:
    unsynced: int
    files: list[Path] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)


def unsynced_events(database: Path) -> int:
    """Outbox events central has not acknowledged (0 when there is no store)."""
    if not database.exists():
        return 0
    from kiosk.adapters.store.engine import StoreError, open_store
    from kiosk.adapters.store.repositories import SqlOutboxStore

    try:
        store = open_store(database, migrate=False)
    except StoreError as exc:
        raise WipeRefused(f"cannot read the outbox, so cannot tell what would be lost: {exc}") from None
    try:
        with store.read() as conn:
            return SqlOutboxStore().pending_count(conn)
    except Exception as exc:  # a damaged store: the technician must decide with --force
        raise WipeRefused(f"cannot read the outbox, so cannot tell what would be lost: {exc}") from None
    finally:
        store.close()


def plan_wipe(config: KioskConfig, config_path: Path, secrets_path: Path | None, root: Path | None) -> WipePlan:
    database = config.paths.database
    plan = WipePlan(unsynced=unsynced_events(database))
    plan.files += [p for p in [database, *(Path(f"{database}{s}") for s in _SIDE_FILES)] if p.exists()]
    state = config.paths.state_dir
    if state.is_dir():
        for entry in sorted(state.iterdir()):
            (plan.dirs if entry.is_dir() and not entry.is_symlink() else plan.files).append(entry)
    plan.files += [p for p in (secrets_path, config_path) if p is not None and p.exists()]
    if root is not None:
        for folder in (root / NM_DIR, root / WPA_DIR):
            if folder.is_dir():
                plan.files += sorted(p for p in folder.iterdir() if p.is_file() and "kiosk-provision" in _head(p))
    return plan


def _head(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(200)
    except OSError:
        return ""


def _shred(path: Path) -> None:
    with contextlib.suppress(OSError):
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
    path.unlink(missing_ok=True)


def refuse_unsynced(plan: WipePlan, *, allow_unsynced: bool) -> None:
    if plan.unsynced and not allow_unsynced:
        raise WipeRefused(
            f"{plan.unsynced} event(s) (scans, sales) have not reached central yet; connect the device to the "
            "network and wait until `kiosk-provision selftest` shows the broker reachable and the queue is empty, "
            "or pass --force-unsynced to lose them"
        )


def execute_wipe(plan: WipePlan, *, allow_unsynced: bool) -> list[Path]:
    refuse_unsynced(plan, allow_unsynced=allow_unsynced)
    removed: list[Path] = []
    for folder in plan.dirs:
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and not path.is_symlink():
                _shred(path)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    for path in plan.files:
        if path.is_file() and not path.is_symlink():
            _shred(path)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
