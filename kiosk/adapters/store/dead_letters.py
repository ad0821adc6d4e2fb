"""Dead letters: the events central rejected, listed for a technician and, once the cause is fixed, requeued.

A requeued event leaves `dead_letters` and goes back into the outbox as a new row at the top (a fresh `seq`, same
`event_id`, `occurred_at` and kind), so a running agent sends it without a restart: its send cursor only moves
forward. Central never stored a rejected event, so it takes it as new; if it still refuses it, the event comes
back here with the new reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from kiosk.adapters.store import tables as t


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    kind: str
    reason: str
    rejected_at: datetime
    occurred_at: datetime | None  # None when the outbox row is gone (it is kept while the dead letter is)
    device_id: str | None  # as recorded in the event's payload


@dataclass(frozen=True)
class Selection:
    """Which dead letters: every one, some ids, or those rejected for one reason (ids and reason combine)."""

    every: bool = False
    ids: tuple[str, ...] = ()
    reason: str | None = None

    def is_empty(self) -> bool:
        return not self.every and not self.ids and self.reason is None


def _payload_device(payload: str) -> str | None:
    try:
        value = json.loads(payload).get("device_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _where(selection: Selection) -> list[Any]:
    d = t.dead_letters.c
    clauses: list[Any] = []
    if selection.ids:
        clauses.append(d.event_id.in_(list(selection.ids)))
    if selection.reason is not None:
        clauses.append(d.reason == selection.reason)
    return clauses


def list_dead_letters(
    conn: Connection, selection: Selection | None = None, limit: int | None = None
) -> list[DeadLetter]:
    """Dead letters, oldest rejection first, with the event's time and the device its payload names."""
    d, o = t.dead_letters.c, t.outbox.c
    query = (
        select(d.event_id, d.kind, d.reason, d.rejected_at, d.payload, o.occurred_at)
        .select_from(t.dead_letters.outerjoin(t.outbox, o.event_id == d.event_id))
        .where(*_where(selection or Selection(every=True)))
        .order_by(d.rejected_at, d.seq)
        .limit(limit)
    )
    return [
        DeadLetter(r.event_id, r.kind, r.reason, r.rejected_at, r.occurred_at, _payload_device(r.payload))
        for r in conn.execute(query)
    ]


def count_dead_letters(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.dead_letters)).scalar_one())


def _rewritten(payload: str, device_id: str) -> str:
    data = json.loads(payload)
    if isinstance(data, dict) and "device_id" in data:
        data["device_id"] = device_id
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def requeue(conn: Connection, selection: Selection, *, rewrite_device: str | None = None) -> list[str]:
    """Move the selected dead letters back to the outbox; returns their event ids (oldest rejection first).

    `rewrite_device`: the events were recorded on this store under a wrong device id (e.g. the old `kiosk-cli`
    default of `kiosk check`); their payload and local scan rows take this id, which must be the store's own."""
    if selection.is_empty():
        return []
    d, o = t.dead_letters.c, t.outbox.c
    rows = conn.execute(
        select(d.event_id, d.kind, d.payload, d.rejected_at, o.occurred_at)
        .select_from(t.dead_letters.outerjoin(t.outbox, o.event_id == d.event_id))
        .where(*_where(selection))
        .order_by(d.rejected_at, d.seq)
    ).all()
    ids = [r.event_id for r in rows]
    if not ids:
        return []
    conn.execute(delete(t.outbox).where(o.event_id.in_(ids)))
    conn.execute(
        insert(t.outbox),
        [
            {
                "event_id": r.event_id,
                "kind": r.kind,
                "occurred_at": r.occurred_at or r.rejected_at,
                "payload": _rewritten(r.payload, rewrite_device) if rewrite_device else r.payload,
            }
            for r in rows
        ],
    )
    if rewrite_device:
        _rewrite_scans(conn, ids, rewrite_device)
    conn.execute(delete(t.dead_letters).where(d.event_id.in_(ids)))
    return ids


def _rewrite_scans(conn: Connection, scan_ids: Sequence[str], device_id: str) -> None:
    """The local check-in and failed-scan rows say the same device as the events sent for them."""
    for table in (t.checkins, t.failed_scans):
        conn.execute(update(table).where(table.c.scan_id.in_(list(scan_ids))).values(device_id=device_id))
