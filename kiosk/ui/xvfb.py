"""A private Xvfb display (1280×800×24) for headless runs: `kiosk screenshots`, the UI tests, the UI bench."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

SCREEN = "1280x800x24"
X11_SOCKETS = Path("/tmp/.X11-unix")  # noqa: S108 - where every X server puts its socket; not our temp file


class XvfbMissing(RuntimeError):
    """Xvfb is not installed (Debian package `xvfb`, installed by scripts/setup.sh)."""


def _free_display() -> int:
    for n in range(90, 400):
        if not (X11_SOCKETS / f"X{n}").exists() and not (X11_SOCKETS.parent / f".X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :399")


class Xvfb:
    """`with Xvfb() as display:` → ':N'; the server is stopped (and only it) on exit."""

    def __init__(self, screen: str = SCREEN) -> None:
        self.screen = screen
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self, timeout: float = 10.0) -> str:
        exe = shutil.which("Xvfb")
        if exe is None:
            raise XvfbMissing("Xvfb is not installed (apt-get install xvfb, or run scripts/setup.sh deps)")
        for _attempt in range(5):
            n = _free_display()
            proc = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                [exe, f":{n}", "-screen", "0", self.screen, "-nolisten", "tcp", "-noreset"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if (X11_SOCKETS / f"X{n}").exists():
                    self.proc, self.display = proc, f":{n}"
                    return self.display
                if proc.poll() is not None:
                    break  # lost a race for this display number; try the next
                time.sleep(0.05)
            proc.kill()
            proc.wait()
        raise RuntimeError("Xvfb did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def ensure_display() -> Xvfb | None:
    """Start a private Xvfb and point DISPLAY at it when there is no display; returns it so it can be stopped."""
    if os.environ.get("DISPLAY"):
        return None
    xvfb = Xvfb()
    os.environ["DISPLAY"] = xvfb.start()
    return xvfb
