"""`AppServices`: everything the app receives from outside, built by kiosk.compose and handed to the UI.

It lives in the service layer so that the UI never imports kiosk.compose: the CLI composes, the app receives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kiosk import __version__
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.languages import DEFAULT_LANGUAGE, LANGUAGES
from kiosk.services.kiosk_status import KioskStatus
from kiosk.services.ports import NoNotifier, Notifier, PrintingPort, StorePort
from kiosk.services.scanning import ScanningService
from kiosk.services.selling import SellingService

log = logging.getLogger(__name__)

# (scanning, gate, on_scan) → a camera feed the door screen starts and stops (kiosk.ui.camera_feed.CameraFeed).
CameraFactory = Callable[[ScanningService, str, Callable[[Any], None]], Any]


@dataclass
class AppServices:
    """Everything the app gets from outside. Screens call these services only, always from a worker thread."""

    device_id: str
    gate: str
    role: str  # door | sales | both
    store: StorePort | None
    scanning: ScanningService | None
    selling: SellingService | None
    status: KioskStatus | None
    printing: PrintingPort
    camera_factory: CameraFactory | None = None
    config_problems: list[str] = field(default_factory=list)
    safe_mode: bool = False
    demo: bool = False
    pin_check: Callable[[str], bool] = lambda _pin: False
    languages: tuple[str, ...] = LANGUAGES
    default_lang: str = DEFAULT_LANGUAGE
    idle_timeout_s: float = 90.0
    refusal_hold_s: float = 3.0  # a door's refusal holds the screen this long against the next scan
    attended: bool = False  # config sales.attended: staff at the counter may sell free tariffs behind the PIN
    fullscreen: bool = False
    version: str = __version__
    clock: Clock = system_clock
    notifier: Notifier = field(default_factory=NoNotifier)
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def can_scan(self) -> bool:
        return self.scanning is not None and self.role in ("door", "both")

    @property
    def can_sell(self) -> bool:
        return self.selling is not None and self.selling.can_sell and self.role in ("sales", "both")

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception:
                log.exception("while closing")
