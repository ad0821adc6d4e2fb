"""An event id central already holds, sent again: the same device's identical repeat is acked as known; the id
from another device (`id_taken`) or with other content (`conflicting_repeat`) is rejected and recorded.

Central binds an event id to the device that first sent it. A door that learned another door's ids (they travel
on the venue's admission topic) and sent them under its own id with made-up content used to have them stored as
its own, and the real owner's events acked as "already known" and dropped by their device: never again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from kiosk.domain.events import EventRejected, parse_event
from sync_agent import safe_json
from sync_agent.central import tables as ct
from sync_agent.messages import MAX_TX_BYTES


@dataclass(frozen=True)
class Held:
    """What central stored for an event id."""

    device_id: str
    kind: str
    occurred_at: str
    payload: str


def held(conn: Connection, ids: list[str]) -> dict[str, Held]:
    e = ct.events.c
    rows = conn.execute(select(e.event_id, e.device_id, e.kind, e.occurred_at, e.payload).where(e.event_id.in_(ids)))
    return {r.event_id: Held(r.device_id, r.kind, r.occurred_at, r.payload) for r in rows}


def repeat_reason(prior: Held, device: str, kind: str, occurred_at: str, event_id: str, payload: str) -> str | None:
    """None for an identical repeat by the owner; else the stable reason the repeat is rejected with."""
    if prior.device_id != device:
        return "id_taken"
    if prior.kind != kind or prior.occurred_at != occurred_at or not _same_payload(prior, event_id, payload):
        return "conflicting_repeat"
    return None


def _same_payload(prior: Held, event_id: str, payload: str) -> bool:
    if prior.payload == payload:
        return True
    try:
        # Bounded: a payload stored before typed events was never checked (5 MB, nested 900 deep…).
        stored = safe_json.loads(prior.payload.encode(), max_bytes=MAX_TX_BYTES)
        if stored == safe_json.loads(payload.encode(), max_bytes=MAX_TX_BYTES):
            return True
        # Stored before central filled in the defaults of absent fields: compare as validated today.
        return bool(parse_event(prior.kind, event_id, stored).model_dump_json(by_alias=True) == payload)
    except (ValueError, EventRejected):
        return False


def conflict_row(venue: str, event_id: str, kind: str, reason: str, owner: str, device: str, at: str) -> dict[str, Any]:
    return {
        "venue": venue,
        "event_id": event_id,
        "kind": kind,
        "reason": reason,
        "owner_device": owner,
        "device_id": device,
        "at": at,
    }


def list_conflicts(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(ct.conflicts).order_by(ct.conflicts.c.id))
    return [dict(r._mapping) for r in rows]
