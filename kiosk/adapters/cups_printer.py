"""A Zebra behind a CUPS raw queue, through the `zebra` package (for sites that spool through CUPS).

CUPS owns the connection to the printer, so there is no status channel: `status` reports the queue as
reachable when `lpstat` lists it, and `send` returns a status that cannot confirm the label (`labels_remaining`
1), so the worker records jobs sent through CUPS as `unknown` unless `trust_spooler` is set — then a job handed to
the spooler without error counts as printed, which is what a CUPS site accepts by choosing CUPS.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Any

from kiosk.adapters.zebra import PrinterSendError, PrinterStatus, PrinterUnreachable


@dataclass
class CupsPrinter:
    queue: str
    trust_spooler: bool = True
    name: str = field(default="")
    _zebra: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from zebra import Zebra

        self.name = self.name or f"cups://{self.queue}"
        self._zebra = Zebra(self.queue)  # type: ignore[no-untyped-call]

    def status(self) -> PrinterStatus:
        try:
            queues = self._zebra.getqueues()
        except OSError as exc:  # lpstat missing: CUPS is not installed
            return PrinterStatus.unreachable(f"{self.name}: CUPS not available ({exc})")
        if self.queue not in queues:
            return PrinterStatus.unreachable(f"{self.name}: no CUPS queue named {self.queue!r} (have {queues})")
        return PrinterStatus()

    def send(self, data: bytes) -> PrinterStatus:
        try:
            self._zebra.output(data)
        except FileNotFoundError as exc:  # no lpr: nothing was spooled
            raise PrinterUnreachable(f"{self.name}: lpr not found ({exc})") from exc
        except (OSError, subprocess.SubprocessError) as exc:
            raise PrinterSendError(f"{self.name}: spooling failed ({exc})") from exc
        return PrinterStatus() if self.trust_spooler else PrinterStatus(labels_remaining=1)
