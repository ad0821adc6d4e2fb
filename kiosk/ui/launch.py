"""Start Kivy the way a kiosk needs it: no Kivy argument parsing, our window size, logs quiet unless asked.

Kivy reads its environment and config when first imported, so this runs before any `kivy` import.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.domain.errors import KioskError

if TYPE_CHECKING:
    from kiosk.services.app_services import AppServices

WINDOW_SIZE = (1280, 800)  # the 10.1" 1280×800 panels the kiosks use
# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
MMAP_THRESHOLD = 128 * 1024


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def tune_malloc() -> bool:
    """Keep glibc's heap from holding memory the app freed; call first thing, before any thread starts.

    - 2 malloc arenas instead of 8 per core (the camera, decoder, printer, worker and llvmpipe threads each grew
      their own), as MALLOC_ARENA_MAX=2 would;
    - a fixed 128 KiB mmap threshold: by default glibc raises it after the first large free, after which every
      camera frame (2.7 MB at 1280×720) and preview copy is carved out of the heap, which then stays fragmented
      and resident; mapped blocks go back to the OS as soon as they are freed.
    Measured with bench/bench_ui.py: ~15 MB less resident after a minute of scanning. False if not glibc.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    ok = libc.mallopt(M_ARENA_MAX, 2) == 1
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1) and ok


def release_freed_memory() -> None:
    """Return the heap's free pages to the OS (glibc's malloc_trim); a no-op elsewhere."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


class SessionError(KioskError):
    """The graphical session cannot give this process a window (say why, instead of SDL's "x11 not available")."""

    reason = "ui_session"


def check_session(
    environ: Mapping[str, str] = os.environ, uid: int | None = None, lookup: Callable[[int], object] = pwd.getpwuid
) -> None:
    """Inside cage, refuse early and clearly when Xwayland would turn this process away.

    Kivy's SDL2 wheels have no Wayland backend, so in cage the app is an X client of the Xwayland that cage starts.
    That Xwayland writes no cookie: it admits the local user *by name* (server-interpreted `localuser:NAME`, the
    name of its own uid). A uid with no passwd entry therefore gets "Authorization required" and SDL reports
    "wayland,x11 not available". The unit runs as the `kiosk` user (systemd/kiosk.sysusers), which has a name.
    """
    if not (environ.get("WAYLAND_DISPLAY") and environ.get("DISPLAY")):
        return  # not under a Wayland compositor with Xwayland: nothing to check
    uid = os.getuid() if uid is None else uid
    try:
        lookup(uid)
    except KeyError:
        raise SessionError(
            f"uid {uid} has no user name (no passwd entry): Xwayland admits only its own user by name, so the app "
            "would get no window; run the UI session as a named user (kiosk-ui.service: User=kiosk)"
        ) from None


def keep_real_stderr() -> None:
    """Undo Kivy's capture of `sys.stderr` (in its default KIVY log mode it becomes a stream into Kivy's logger,
    which without a console handler drops everything: a failing command then said nothing)."""
    if sys.stderr is not sys.__stderr__ and type(sys.stderr).__name__ == "ProcessingStream":
        sys.stderr = sys.__stderr__


def prepare_kivy(*, fullscreen: bool = False, size: tuple[int, int] = WINDOW_SIZE, verbose: bool = False) -> None:
    check_session()
    # MIXED: Kivy's handlers go on Kivy's own logger only; the root logger and sys.stderr stay ours.
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    if not verbose:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    if "KIVY_HOME" not in os.environ:
        home = Path(tempfile.gettempdir()) / f"kiosk-kivy-{os.getuid()}"
        home.mkdir(exist_ok=True)
        os.environ["KIVY_HOME"] = str(home)
    from kivy.config import Config

    keep_real_stderr()  # in case Kivy was imported before us, or KIVY_LOG_MODE=KIVY was set outside
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")  # no red multitouch dots on right-click
    Config.set("kivy", "exit_on_escape", "0")  # a wedge scanner or a keyboard must not close the kiosk


def run(services: AppServices) -> int:
    prepare_kivy(fullscreen=services.fullscreen)
    from kiosk.ui.app import KioskApp

    KioskApp(services).run()
    return 0
