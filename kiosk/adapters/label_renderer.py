"""`ZplRenderer`: the print journal's LabelRenderer port over kiosk.adapters.zpl (ZPL for the printer, PNG preview)."""

from __future__ import annotations

from kiosk.adapters.zpl import LabelFormat, render_png, render_receipt, render_ticket
from kiosk.domain.labels import Receipt, TicketLabel


class ZplRenderer:
    """Raises `LayoutError` (a label that does not fit) and ValueError for an unknown format."""

    def ticket(self, label: TicketLabel, fmt: str, dpi: int) -> bytes:
        return render_ticket(label, LabelFormat(fmt), dpi).zpl

    def receipt(self, receipt: Receipt, dpi: int) -> bytes:
        return render_receipt(receipt, dpi).zpl

    def png(self, zpl: bytes, dpi: int) -> bytes:
        return render_png(zpl, dpi)
