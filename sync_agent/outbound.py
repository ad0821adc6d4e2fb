"""What the agent sends from the outbox: sequence-ordered event batches for central, new admissions for peers.

The batch is serialised, never assembled by hand: each stored payload is read (pydantic-core's JSON parser, ~1 µs
per event) and the whole `TxBatch` written by pydantic-core, so a row or field can never break the message's JSON.
The rows come from `kiosk.adapters.store.outbox_repository` (the SQL); this module holds no query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json

from kiosk.adapters.store import outbox_repository as repo
from kiosk.adapters.store.outbox_repository import outbox_top
from kiosk.adapters.store.sync_repository import StoreConnection
from kiosk.domain.events import Checkin
from kiosk.domain.peer_admissions import peer_id
from sync_agent import messages as m

__all__ = ["Batch", "new_admissions", "next_batch", "outbox_top"]


@dataclass(frozen=True)
class Batch:
    batch_id: str
    body: bytes
    event_ids: list[str]
    last_seq: int


def next_batch(
    conn: StoreConnection, device: str, after_seq: int, limit: int, sent_at: str | None = None
) -> Batch | None:
    """The next unsynced events after `after_seq`, oldest first, as one `TxBatch` payload (at most half of
    central's message bound, so a batch of large sales is never refused whole)."""
    rows = repo.unsynced_after(conn, after_seq, limit)
    if not rows:
        return None
    size = 0
    for n, row in enumerate(rows):
        size += len(row[4]) + 200
        if n and size > m.MAX_TX_BYTES // 2:
            rows = rows[:n]
            break
    batch_id = uuid.uuid4().hex
    events = [
        {"seq": seq, "event_id": eid, "kind": kind, "occurred_at": at, "payload": _stored_payload(payload)}
        for seq, eid, kind, at, payload in rows  # unpacked: Row attribute access costs more than the JSON
    ]
    batch: dict[str, Any] = {"v": m.PROTOCOL_VERSION, "batch_id": batch_id, "device_id": device, "events": events}
    if sent_at is not None:
        batch["sent_at"] = sent_at
    body = to_json(batch)
    return Batch(batch_id, body, [e["event_id"] for e in events], rows[-1][0])


def _stored_payload(text: str) -> Any:
    """The payload as the outbox stored it (built and checked by its model when the event was made).

    A row that is not JSON (disk damage, a hand edit) travels as its text: central rejects that one event
    (`malformed:payload`) and the device dead-letters it, instead of every batch failing behind it.
    """
    try:
        data = from_json(text)
    except ValueError:
        return text
    return data if isinstance(data, dict) else text


def new_admissions(
    conn: StoreConnection, device: str, after_seq: int, limit: int = 1000
) -> tuple[list[m.PeerAdmission], int]:
    """Check-ins after `after_seq` as peer admissions, and the seq read up to (the outbox top when all were read).

    Peers get the peer id, never the event id central dedupes on (a peer could replay it on its own `tx`)."""
    top = outbox_top(conn)
    rows = repo.checkins_after(conn, after_seq, limit)
    admissions = []
    for _seq, payload in rows:
        try:
            p = Checkin.model_validate_json(payload)
        except ValueError:
            continue  # not an admission central would accept either; it travels to central as it is
        admissions.append(
            m.PeerAdmission(
                v=1,
                scan_id=peer_id(p.scan_id),
                ticket_id=p.ticket_id,
                performance_id=p.performance_id,
                movement=p.movement,
                device_id=device,
                gate=p.gate,
                list_id=p.list_id,
                scanned_at=p.scanned_at,
            )
        )
    read_up_to = rows[-1][0] if len(rows) == limit else top
    return admissions, read_up_to
