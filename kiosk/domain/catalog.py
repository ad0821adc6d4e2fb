"""The venue catalog as one immutable value: events, performances, tariffs, passes, check-in lists, issuer keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.domain.model import (
    CheckinList,
    Direction,
    Event,
    IssuerKey,
    PassRule,
    Performance,
    Tariff,
)
from kiosk.domain.verdicts import GateContext

ALL_EVENTS_LIST_ID = 0


@dataclass(frozen=True)
class Catalog:
    version: str
    events: Mapping[int, Event] = field(default_factory=dict)
    performances: Mapping[int, Performance] = field(default_factory=dict)
    tariffs: Mapping[int, Tariff] = field(default_factory=dict)
    passes: Mapping[int, PassRule] = field(default_factory=dict)
    lists: Mapping[int, CheckinList] = field(default_factory=dict)
    gates: Mapping[str, int] = field(default_factory=dict)
    keys: tuple[IssuerKey, ...] = ()

    def list_for_gate(self, gate: str) -> CheckinList:
        """The gate's list; a gate nobody configured accepts every event (single-door venues need no setup)."""
        list_id = self.gates.get(gate)
        if list_id is not None and list_id in self.lists:
            return self.lists[list_id]
        return CheckinList(ALL_EVENTS_LIST_ID, "all events", frozenset(self.events), allow_exit=True)

    def gate_context(self, device_id: str, gate: str, direction: Direction = Direction.ENTRY) -> GateContext:
        lst = self.list_for_gate(gate)
        perfs = tuple(p for p in self.performances.values() if p.event_id in lst.event_ids)
        return GateContext(device_id, gate, lst, perfs, direction)

    def pass_for_tariff(self, tariff_id: int) -> PassRule | None:
        return next((p for p in self.passes.values() if p.tariff_id == tariff_id), None)

    def performances_of(self, event_id: int) -> list[Performance]:
        return sorted((p for p in self.performances.values() if p.event_id == event_id), key=lambda p: p.starts_at)

    def open_or_next(self, now: datetime) -> list[Performance]:
        """Performances still admitting or to come, soonest first (what a sales screen offers)."""
        return sorted((p for p in self.performances.values() if p.closes >= now), key=lambda p: p.starts_at)
