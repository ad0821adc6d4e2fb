"""The event models (kiosk.domain.events) as central applies them: what every kind the device builds passes, and
hostile payloads of every kind — wrong types, oversize values, extra or unknown fields, unknown kinds, another
device's or another event's ids — come back with a stable reason code, never stored."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.domain import events as ev
from kiosk.domain.outbox import OutboxEvent
from sync_agent.central.validate import check_event
from sync_agent.messages import TxEvent
from tests.sync import event_samples as samples

SAMPLES = {e.kind: e for e in samples.every_kind()}


def reason(kind: str, event_id: str, payload: Any, device: str = "door-a", occurred_at: str | None = None) -> str:
    tx = TxEvent(
        seq=1, event_id=event_id, kind=kind, occurred_at=occurred_at or "2026-11-28T18:00:00Z", payload=payload
    )
    with pytest.raises(ev.EventRejected) as caught:
        check_event(tx, device)
    return caught.value.reason


def good(kind: str) -> tuple[OutboxEvent, dict[str, Any]]:
    event = SAMPLES[kind]
    return event, dict(event.payload)


def test_every_kind_the_device_builds_passes_and_round_trips() -> None:
    assert set(SAMPLES) == ev.KINDS == set(ev.MODELS) == {"checkin", "failed_scan", "sale", "reprint"}
    for kind, event in SAMPLES.items():
        tx = TxEvent(seq=1, event_id=event.event_id, kind=kind, occurred_at="2026-11-28T18:00:00Z",
                     payload=dict(event.payload))  # fmt: skip
        model = check_event(tx, "door-a")
        assert type(model) is ev.MODELS[kind]
        assert model.payload() == event.payload  # what the device stored is what central reads back
        assert model.ID_FIELD in type(model).model_fields


def test_adding_a_kind_is_one_model_listed_in_the_union() -> None:
    for kind, model in ev.MODELS.items():
        assert model.model_config.get("extra") == "forbid" and model.model_config.get("strict")
        assert model.model_fields["kind"].default == kind and model.model_fields["kind"].exclude


# (kind, field, hostile value, expected reason): one or more per field family of every kind.
HOSTILE: list[tuple[str, str, Any, str]] = [
    ("checkin", "ticket_id", "seven", "malformed:ticket_id"),
    ("checkin", "ticket_id", "7", "malformed:ticket_id"),  # no coercion
    ("checkin", "ticket_id", 2**63, "malformed:ticket_id"),  # beyond BIGINT
    ("checkin", "ticket_id", None, "malformed:ticket_id"),
    ("checkin", "movement", "teleport", "malformed:movement"),
    ("checkin", "entries_allowed", 0, "malformed:entries_allowed"),
    ("checkin", "entries_allowed", 65_536, "malformed:entries_allowed"),
    ("checkin", "entries_allowed", "2", "malformed:entries_allowed"),
    ("checkin", "entries_allowed", True, "malformed:entries_allowed"),
    ("checkin", "gate", "", "malformed:gate"),
    ("checkin", "gate", "g" * 65, "malformed:gate"),
    ("checkin", "gate", 5, "malformed:gate"),
    ("checkin", "verdict", ["valid"], "malformed:verdict"),
    ("checkin", "verdict", "DROP TABLE", "malformed:verdict"),
    ("checkin", "performance_id", 1.5, "malformed:performance_id"),
    ("checkin", "scanned_at", "yesterday-at-noon", "malformed:scanned_at"),
    ("checkin", "detail", "x" * 201, "malformed:detail"),
    ("checkin", "scan_id", "someone-else", "malformed:scan_id"),
    ("checkin", "list_id", -1, "malformed:list_id"),
    ("failed_scan", "text_prefix", "x" * 65, "malformed:text_prefix"),
    ("failed_scan", "first_use", {"at": "2026-11-28T18:00Z", "device_id": "d", "gate": "g", "x": 1}, "unknown_field"),
    ("failed_scan", "first_use", {"at": "soon", "device_id": "d", "gate": "g"}, "malformed:first_use"),
    ("failed_scan", "direction", "sideways", "malformed:direction"),
    ("sale", "order_id", "another-order", "malformed:order_id"),
    ("sale", "order_ref", "R" * 17, "malformed:order_ref"),
    ("sale", "payment", {"method": "cash", "total": 45.0, "due": "45", "rounding": "0", "tendered": "50",
                         "change": "5"}, "malformed:payment"),  # a float for money
    ("sale", "payment", {"method": "iou", "total": "45", "due": "45", "rounding": "0", "tendered": "50",
                         "change": "5"}, "malformed:payment"),
    ("sale", "lines", [], "malformed:lines"),
    ("sale", "lines", [{"tariff_id": 3, "quantity": 999, "unit_price": "1"}], "malformed:lines"),
    ("sale", "tickets", [{"ticket_id": i, "code": "c", "tariff_id": 3, "key_id": 1} for i in range(41)],
     "malformed:tickets"),
    ("sale", "tickets", [{"ticket_id": 1, "code": "c" * 513, "tariff_id": 3, "key_id": 1}], "malformed:tickets"),
    ("sale", "event_id", "10", "malformed:event_id"),
    ("reprint", "copy", 1, "malformed:copy"),
    ("reprint", "copy", "2", "malformed:copy"),
    ("reprint", "reason", "r" * 201, "malformed:reason"),
    ("reprint", "original_state", "Printed!", "malformed:original_state"),
    ("reprint", "job_id", "j" * 37, "malformed:job_id"),
    ("reprint", "reprinted_at", 1764352800, "malformed:reprinted_at"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "field", "value", "expected"), HOSTILE)
def test_hostile_field_values_are_rejected_with_their_reason(kind: str, field: str, value: Any, expected: str) -> None:
    event, payload = good(kind)
    assert reason(kind, event.event_id, {**payload, field: value}) == expected


@pytest.mark.parametrize("kind", sorted(ev.KINDS))
def test_every_kind_refuses_extra_fields_missing_fields_versions_and_other_devices(kind: str) -> None:
    event, payload = good(kind)
    eid = event.event_id
    assert reason(kind, eid, {**payload, "holder_name": "Ada Lovelace"}) == "unknown_field"
    assert reason(kind, eid, {**payload, "kind": "checkin"}) == "unknown_field"
    assert reason(kind, eid, {**payload, "v": 2}) == "unsupported_version"
    assert reason(kind, eid, {**payload, "v": True}) == "unsupported_version"
    assert reason(kind, eid, {k: v for k, v in payload.items() if k != "v"}) == "unsupported_version"
    assert reason(kind, eid, {**payload, "device_id": "door-b"}) == "device_mismatch"
    assert reason(kind, eid, payload, occurred_at="2026-13-45T99:00:00Z") == "malformed:occurred_at"
    assert reason(kind, eid, {k: v for k, v in payload.items() if k != "device_id"}) == "malformed:device_id"
    assert reason(kind, eid, {**payload, "device_id": "d" * 65}) == "device_mismatch"
    model = ev.MODELS[kind]
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    assert required, kind
    for name in required:
        wire = model.model_fields[name].alias or name
        assert reason(kind, eid, {k: v for k, v in payload.items() if k != wire}) == f"malformed:{wire}", name


def test_unknown_kinds_and_non_object_payloads() -> None:
    event, payload = good("checkin")
    assert reason("voucher", event.event_id, payload) == "unknown_kind"
    assert reason("void", event.event_id, {"v": 1, "device_id": "door-a"}) == "unknown_kind"
    assert reason("checkin", event.event_id, '{"v": 1, "scan_id": ') == "malformed:payload"  # unreadable row


def test_the_payload_model_dump_never_carries_the_kind() -> None:
    for event in SAMPLES.values():
        assert "kind" not in event.payload
        assert event.payload["v"] == ev.SCHEMA_VERSION
