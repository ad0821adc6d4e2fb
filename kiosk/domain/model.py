"""Catalog and ticket facts as frozen dataclasses: what the verdict engine and the sales rules reason about.

Times are timezone-aware UTC datetimes; the venue's wall clock (Europe/Zurich) is only used for display and for
"the same day" rules (see `kiosk.domain.timeutil`). Names are per-language mappings (fr, de, it, en).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

LocalizedText = Mapping[str, str]

# How long after the start a performance still admits when the catalog gives no closing time.
DEFAULT_ADMISSION_AFTER_START = timedelta(hours=4)


def pick_text(text: LocalizedText, lang: str = "en") -> str:
    """The text in `lang`, else English, else any language we have, else an empty string."""
    for key in (lang, "en", "fr", "de", "it"):
        if text.get(key):
            return text[key]
    return next(iter(text.values()), "")


class TicketStatus(enum.StrEnum):
    VALID = "valid"
    CANCELLED = "cancelled"


class Direction(enum.StrEnum):
    ENTRY = "entry"
    EXIT = "exit"


class Movement(enum.StrEnum):
    """What a recorded check-in was: a first entry, a return after an exit, or an exit."""

    ENTRY = "entry"
    REENTRY = "reentry"
    EXIT = "exit"


class TariffKind(enum.StrEnum):
    SINGLE = "single"
    PASS = "pass"  # noqa: S105 - a season pass, not a password


@dataclass(frozen=True)
class Event:
    id: int
    name: LocalizedText
    venue: str = ""


@dataclass(frozen=True)
class Performance:
    """One date of an event. Doors open at `doors_open`; admission closes at `admission_closes`."""

    id: int
    event_id: int
    starts_at: datetime
    doors_open: datetime
    admission_closes: datetime | None = None
    name: LocalizedText = field(default_factory=dict)

    @property
    def closes(self) -> datetime:
        return self.admission_closes or self.starts_at + DEFAULT_ADMISSION_AFTER_START

    def is_open(self, now: datetime) -> bool:
        return self.doors_open <= now <= self.closes


@dataclass(frozen=True)
class Tariff:
    id: int
    event_id: int | None
    name: LocalizedText
    price: Decimal
    kind: TariffKind = TariffKind.SINGLE
    icon: str = "standard"


@dataclass(frozen=True)
class PassRule:
    """A pass: valid across performances of `event_ids` (empty = every event) inside a window."""

    id: int
    tariff_id: int
    name: LocalizedText
    valid_from: datetime
    valid_until: datetime
    entries_per_day: int | None = None
    event_ids: frozenset[int] = frozenset()

    def covers(self, event_id: int) -> bool:
        return not self.event_ids or event_id in self.event_ids


@dataclass(frozen=True)
class CheckinList:
    """What a gate accepts. Empty tariff/performance sets mean "all of the listed events"."""

    id: int
    name: str
    event_ids: frozenset[int]
    tariff_ids: frozenset[int] = frozenset()
    performance_ids: frozenset[int] = frozenset()
    allow_exit: bool = False
    allow_reentry: bool = False

    def accepts_tariff(self, tariff_id: int) -> bool:
        return not self.tariff_ids or tariff_id in self.tariff_ids

    def accepts_performance(self, performance_id: int) -> bool:
        return not self.performance_ids or performance_id in self.performance_ids


@dataclass(frozen=True)
class TicketRecord:
    """A ticket as the device knows it: from the synced list, from a sale, or from a verified signed code."""

    ticket_id: int
    event_id: int
    tariff_id: int
    performance_id: int | None = None
    pass_id: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    entries_allowed: int = 1
    holder_name: str | None = None
    status: TicketStatus = TicketStatus.VALID
    code: str | None = None
    order_ref: str | None = None


@dataclass(frozen=True)
class CheckinRecord:
    """A movement already recorded for a ticket, by this device or learned from a peer or central."""

    scan_id: str
    ticket_id: int
    movement: Movement
    at: datetime
    device_id: str
    gate: str
    performance_id: int | None = None


@dataclass(frozen=True)
class IssuerKey:
    """A public key allowed to sign ticket codes (central's, or a sales kiosk's)."""

    key_id: int
    public_key: bytes
    owner: str
    revoked: bool = False
