"""Start Kivy the way a kiosk needs it: no Kivy argument parsing, our window size, logs quiet unless asked.

Kivy reads its environment and config when first imported, so this runs before any `kivy` import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

WINDOW_SIZE = (1280, 800)  # the 10.1" 1280×800 panels the kiosks use
# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
MMAP_THRESHOLD = 128 * 1024


def _libc():
    import ctypes

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
    return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and ok


def release_freed_memory() -> None:
    """Return the heap's free pages to the OS (glibc's malloc_trim); a no-op elsewhere."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def prepare_kivy(*, fullscreen: bool = False, size: tuple[int, int] = WINDOW_SIZE, verbose: bool = False) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    if not verbose:
        os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    if "KIVY_HOME" not in os.environ:
        home = Path(tempfile.gettempdir()) / f"kiosk-kivy-{os.getuid()}"
        home.mkdir(exist_ok=True)
        os.environ["KIVY_HOME"] = str(home)
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("input", "mouse", "mouse,multitouch_on_demand")  # no red multitouch dots on right-click
    Config.set("kivy", "exit_on_escape", "0")  # a wedge scanner or a keyboard must not close the kiosk


def run(services) -> int:
    prepare_kivy(fullscreen=services.fullscreen)
    from kiosk.ui.app import KioskApp

    KioskApp(services).run()
    return 0
