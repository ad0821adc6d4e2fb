"""A walk-up sale as it was recorded: the tickets it made and its receipt (values the sales repository returns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.sales import Settlement


@dataclass(frozen=True)
class SoldTicket:
    ticket_id: int
    code: str
    tariff_id: int
    performance_id: int


@dataclass(frozen=True)
class SaleReceipt:
    order_id: str
    order_ref: str
    sold_at: datetime
    settlement: Settlement
    tickets: tuple[SoldTicket, ...]
    print_jobs: tuple[str, ...] = ()  # print journal job ids, in print order
    repeated: bool = False  # the order id was already sold: this is the first receipt, nothing new was written
