"""A private Xvfb display (1280×800×24) for headless runs: `kiosk screenshots`, the UI tests, the UI bench.

The server picks its own display number (`-displayfd`): X tries each number in turn, skips any whose lock file or
socket (in /tmp/.X11-unix or the abstract namespace, which another mount namespace can hold without a trace in our
/tmp) is taken, and writes the one it got to the pipe we gave it. Choosing the number ourselves raced with every
other X server starting at the same time.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import time

from kiosk.domain.errors import KioskError

SCREEN = "1280x800x24"


class XvfbMissing(KioskError):
    """Xvfb is not installed (Debian package `xvfb`, installed by scripts/setup.sh)."""

    reason = "xvfb_missing"


class XvfbFailed(KioskError):
    """Xvfb exited or did not report a display in time."""

    reason = "xvfb_failed"


def _read_display(fd: int, proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The display number Xvfb writes (then a newline) to the -displayfd pipe, once it listens."""
    got = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(fd, 32)
            if not chunk:  # the server closed the pipe: it exited
                break
            got += chunk
    if not got.endswith(b"\n"):
        proc.poll()
        return ""
    return ":" + got.decode().strip()


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
        read_fd, write_fd = os.pipe()
        with tempfile.TemporaryFile() as errors:
            try:
                proc = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                    [exe, "-displayfd", str(write_fd), "-screen", "0", self.screen, "-nolisten", "tcp", "-noreset"],
                    pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=errors,
                )  # fmt: skip
            finally:
                os.close(write_fd)
            try:
                display = _read_display(read_fd, proc, timeout)
            finally:
                os.close(read_fd)
            if not display:
                proc.kill()
                proc.wait()
                errors.seek(0)
                tail = errors.read()[-1500:].decode(errors="replace").strip()
                raise XvfbFailed(f"Xvfb did not report a display within {timeout:g}s (exit {proc.returncode}): {tail}")
        self.proc, self.display = proc, display
        return display

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
