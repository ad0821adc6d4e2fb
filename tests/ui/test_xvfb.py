"""The private Xvfb picks a display nobody holds, even when the usual numbers are taken without a trace in /tmp.

An X server listens on /tmp/.X11-unix/XN and on the abstract socket @/tmp/.X11-unix/XN; a server in another mount
namespace (a PrivateTmp service, a container) holds the abstract one while our /tmp shows nothing. Choosing the
number from /tmp then fails every attempt; with -displayfd the server skips it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from kiosk.ui.xvfb import Xvfb, XvfbMissing

HELD = range(0, 100)  # every number the old chooser (:90–:399, /tmp checks) and X's own search (from :0) try first

SDL_PROBE = (
    "import os, sys; os.environ['KIVY_NO_ARGS'] = '1'; os.environ['KIVY_NO_CONSOLELOG'] = '1'\n"
    "from kivy.core.window import Window; print(*Window.size)"
)


@pytest.fixture
def held_displays() -> Iterator[set[int]]:
    """Hold the abstract X sockets of :0–:99 (those not in use already), as servers we cannot see would."""
    held: list[socket.socket] = []
    numbers: set[int] = set()
    for n in HELD:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0/tmp/.X11-unix/X{n}")
        except OSError:
            sock.close()  # a real server has it: taken anyway
            continue
        sock.listen(1)
        held.append(sock)
        numbers.add(n)
    yield numbers
    for sock in held:
        sock.close()


def _started(xvfb: Xvfb) -> str:
    try:
        return xvfb.start()
    except XvfbMissing as exc:
        pytest.skip(f"no Xvfb: {exc}")


@pytest.mark.ui
def test_xvfb_starts_on_a_free_display_while_others_are_held(held_displays: set[int], kivy_env: dict[str, str]) -> None:
    first, second = Xvfb(), Xvfb()
    try:
        one = _started(first)
        two = _started(second)  # the suite's own display (kivy_env's) is running too
        numbers = {int(one[1:]), int(two[1:]), int(kivy_env["DISPLAY"][1:])}
        assert len(numbers) == 3, "each server got its own display"
        assert not numbers & held_displays, "a held display was handed out"
        for display in (one, two):  # and each really serves clients: a Kivy window opens on it
            done = subprocess.run(
                [sys.executable, "-c", SDL_PROBE], env={**kivy_env, "DISPLAY": display},
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            width, height = (int(v) for v in done.stdout.split()[:2]) if done.returncode == 0 else (0, 0)
            assert width > 0 and height > 0, done.stderr[-2000:]
    finally:
        first.stop()
        second.stop()
    assert first.proc is None and second.proc is None
