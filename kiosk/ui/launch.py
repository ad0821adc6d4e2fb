"""Start Kivy the way a kiosk needs it: no Kivy argument parsing, our window size, logs quiet unless asked.

Kivy reads its environment and config when first imported, so this runs before any `kivy` import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

WINDOW_SIZE = (1280, 800)  # the 10.1" 1280×800 panels the kiosks use


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
