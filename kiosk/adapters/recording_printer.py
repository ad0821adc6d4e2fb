"""`RecordingPrinter`: the printer's fake twin for unit tests and screens — keeps what was sent, plays a status.

Set `status_now` to the status it should report, queue exceptions in `send_errors` to make the next sends fail
(`PrinterUnreachable` = nothing sent, `PrinterSendError` = outcome unknown), and read `sent` to see the jobs.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from kiosk.adapters.zebra import PrinterError, PrinterStatus


@dataclass
class RecordingPrinter:
    name: str = "recording"
    status_now: PrinterStatus = field(default_factory=PrinterStatus)
    sent: list[bytes] = field(default_factory=list)
    send_errors: deque[PrinterError] = field(default_factory=deque)
    status_reads: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.sent_event = threading.Event()

    def status(self) -> PrinterStatus:
        with self._lock:
            self.status_reads += 1
            return self.status_now

    def send(self, data: bytes) -> PrinterStatus:
        with self._lock:
            if self.send_errors:
                raise self.send_errors.popleft()
            self.sent.append(data)
            self.sent_event.set()
            return self.status_now
