"""systemd's watchdog for the UI: READY=1 once the first screen is on the glass, then WATCHDOG=1 from Kivy's loop.

The pings are Kivy Clock callbacks, so they run on the main loop and nowhere else: when the loop hangs (a blocking
call on the Kivy thread, a deadlock in a draw), the pings stop and systemd restarts kiosk-ui.service after
WatchdogSec. STATUS= carries the current screen for `systemctl status`.

In the unit the main process is cage and the app is its child: systemd sets WATCHDOG_PID to cage's pid and the
unit says NotifyAccess=all, so the app accepts the watchdog meant for its parent.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Notifier(Protocol):
    """The sd_notify messages the UI sends (kiosk.adapters.sdnotify.SystemdNotifier in production)."""

    def ready(self, status: str | None = None) -> bool: ...

    def watchdog(self) -> bool: ...

    def status(self, text: str) -> bool: ...

    def stopping(self) -> bool: ...


MIN_INTERVAL_S = 0.05


def ping_interval(
    environ: Mapping[str, str] = os.environ, pid: int | None = None, parent: int | None = None
) -> float | None:
    """Seconds between pings: half of WATCHDOG_USEC, as systemd advises; None without a watchdog for us."""
    usec = environ.get("WATCHDOG_USEC")
    owner = environ.get("WATCHDOG_PID")
    ours = {str(os.getpid() if pid is None else pid), str(os.getppid() if parent is None else parent)}
    if not usec or (owner and owner not in ours):
        return None
    try:
        return max(int(usec) / 2_000_000, MIN_INTERVAL_S)
    except ValueError:
        return None


Schedule = Callable[[Callable[[float], Any], float], Any]


def _kivy_schedule(callback: Callable[[float], Any], interval: float) -> Any:
    from kivy.clock import Clock

    return Clock.schedule_interval(callback, interval)


class UiWatchdog:
    """`start(Window)` once the app is built: READY on the first drawn frame, then pings; `stop()` at the end."""

    def __init__(
        self,
        notifier: Notifier,
        status: Callable[[], str],
        *,
        interval: float | None = None,
        schedule: Schedule = _kivy_schedule,
    ) -> None:
        self.notifier = notifier
        self.status_text = status
        self.interval = ping_interval() if interval is None else interval
        self.schedule = schedule
        self.ready_sent = False
        self.pings = 0
        self._last_status = ""
        self._event: Any = None

    def start(self, window: Any) -> None:
        """Wait for the window's next flip (the first screen really drawn), then `shown()`."""

        def first_flip(*_args: object) -> None:
            window.unbind(on_flip=first_flip)
            self.shown()

        window.bind(on_flip=first_flip)

    def shown(self, *_args: object) -> None:
        """The first screen is drawn: READY=1 (once), and start pinging if systemd watches us."""
        if self.ready_sent:
            return
        self.ready_sent = True
        self._last_status = self.status_text()
        self.notifier.ready(self._last_status)
        if self.interval is not None:
            self._event = self.schedule(self.tick, self.interval)

    def tick(self, _dt: float = 0.0) -> None:
        """One turn of the main loop got here: the UI is alive."""
        self.notifier.watchdog()
        self.pings += 1
        text = self.status_text()
        if text != self._last_status:
            self._last_status = text
            self.notifier.status(text)

    def stop(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if self.ready_sent:
            self.notifier.stopping()
