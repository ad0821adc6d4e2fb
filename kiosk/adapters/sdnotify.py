"""systemd's notify protocol (READY=1, WATCHDOG=1, STATUS=…) over $NOTIFY_SOCKET, with no dependency.

Written here rather than taken from `sdnotify` (unmaintained since 2017): it is one datagram per call, and we
want abstract-namespace sockets and the watchdog interval, which that package does not handle.
"""

from __future__ import annotations

import os
import socket


class SystemdNotifier:
    """Sends notifications when run under systemd (NOTIFY_SOCKET set); does nothing otherwise."""

    def __init__(self, socket_path: str | None = None) -> None:
        self._path = socket_path if socket_path is not None else os.environ.get("NOTIFY_SOCKET")

    @property
    def enabled(self) -> bool:
        return bool(self._path)

    def notify(self, message: str) -> bool:
        if not self._path:
            return False
        address = "\0" + self._path[1:] if self._path.startswith("@") else self._path
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode("utf-8"), address)
        except OSError:
            return False  # systemd went away or the socket is wrong: never crash the service over it
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def watchdog_interval() -> float | None:
    """Seconds between pings (half of WATCHDOG_USEC, as systemd recommends), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(int(usec) / 2_000_000, 0.05)
    except ValueError:
        return None
