"""The printer as the services see it: one status reading (`PrinterStatus`) and the transport errors.

Values only, no I/O: the Zebra, CUPS and recording printers in kiosk.adapters produce them, the print worker reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.domain.errors import KioskError


class PrinterError(KioskError):
    """Base of printer transport errors."""

    reason = "printer_error"


class PrinterUnreachable(PrinterError):
    """Nothing was sent: no connection (refused, no route, timeout). Safe to try again later."""

    reason = "printer_unreachable"


class PrinterSendError(PrinterError):
    """The connection broke during or right after sending: the label may or may not print (outcome unknown)."""

    reason = "printer_send_failed"


class StatusParseError(PrinterError):
    """The printer answered something that is not a ~HS / ~HQES reply."""

    reason = "printer_status_unreadable"


@dataclass(frozen=True)
class PrinterStatus:
    """One reading of the printer. `reachable` False means no (valid) answer, which counts as not ready."""

    reachable: bool = True
    paper_out: bool = False
    paused: bool = False
    head_open: bool = False
    ribbon_out: bool = False
    buffer_full: bool = False
    partial_format: bool = False
    corrupt_ram: bool = False
    under_temperature: bool = False
    over_temperature: bool = False
    formats_in_buffer: int = 0
    labels_remaining: int = 0
    label_length: int = 0
    errors: tuple[str, ...] = ()  # from ~HQES, when read
    warnings: tuple[str, ...] = ()
    detail: str = ""  # why it is unreachable, or the raw problem

    @classmethod
    def unreachable(cls, detail: str) -> PrinterStatus:
        return cls(reachable=False, detail=detail)

    @property
    def faults(self) -> tuple[str, ...]:
        """Stable snake_case names of what stops printing now (empty = ready)."""
        if not self.reachable:
            return ("no_answer",)
        flags = (
            ("paper_out", self.paper_out),
            ("head_open", self.head_open),
            ("ribbon_out", self.ribbon_out),
            ("paused", self.paused),
            ("buffer_full", self.buffer_full),
            ("corrupt_ram", self.corrupt_ram),
            ("under_temperature", self.under_temperature),
            ("over_temperature", self.over_temperature),
        )
        names = [name for name, on in flags if on]
        names += [e for e in self.errors if e not in names]
        return tuple(names)

    @property
    def ready(self) -> bool:
        return not self.faults

    @property
    def idle(self) -> bool:
        """Ready and holding nothing: every label sent so far has gone through the print head."""
        return self.ready and self.formats_in_buffer == 0 and self.labels_remaining == 0 and not self.partial_format
