"""What the agent sends from the outbox: sequence-ordered event batches for central, new admissions for peers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from kiosk.adapters.store import tables as t
from kiosk.domain.outbox import EventKind
from kiosk.domain.timeutil import iso
from sync_agent import messages as m


@dataclass(frozen=True)
class Batch:
    batch_id: str
    body: bytes
    event_ids: list[str]
    last_seq: int


def next_batch(conn: Connection, device: str, after_seq: int, limit: int) -> Batch | None:
    """The next unsynced events after `after_seq`, oldest first, as one `TxBatch` payload."""
    o = t.outbox.c
    rows = conn.execute(
        select(o.seq, o.event_id, o.kind, o.occurred_at, o.payload)
        .where(o.synced_at.is_(None), o.seq > after_seq)
        .order_by(o.seq)
        .limit(limit)
    ).all()
    if not rows:
        return None
    batch_id = uuid.uuid4().hex
    # The stored payload is already JSON: splice it in rather than parse and re-serialise 500 of them.
    events = ",".join(
        f'{{"seq":{r.seq},"event_id":{json.dumps(r.event_id)},"kind":{json.dumps(r.kind)},'
        f'"occurred_at":"{iso(r.occurred_at)}","payload":{r.payload}}}'
        for r in rows
    )
    body = f'{{"v":1,"batch_id":"{batch_id}","device_id":{json.dumps(device)},"events":[{events}]}}'
    return Batch(batch_id, body.encode(), [r.event_id for r in rows], rows[-1].seq)


def outbox_top(conn: Connection) -> int:
    return int(conn.execute(select(func.max(t.outbox.c.seq))).scalar_one() or 0)


def new_admissions(
    conn: Connection, device: str, after_seq: int, limit: int = 1000
) -> tuple[list[m.PeerAdmission], int]:
    """Check-ins after `after_seq` as peer admissions, and the seq read up to (the outbox top when all were read)."""
    o = t.outbox.c
    top = outbox_top(conn)
    rows = conn.execute(
        select(o.seq, o.payload).where(o.seq > after_seq, o.kind == EventKind.CHECKIN).order_by(o.seq).limit(limit)
    ).all()
    admissions = []
    for r in rows:
        p = json.loads(r.payload)
        try:
            admissions.append(
                m.PeerAdmission(
                    v=1,
                    scan_id=p["scan_id"],
                    ticket_id=p["ticket_id"],
                    performance_id=p.get("performance_id"),
                    movement=p["movement"],
                    device_id=device,
                    gate=p["gate"],
                    list_id=p.get("list_id"),
                    scanned_at=p["scanned_at"],
                )
            )
        except (KeyError, ValueError):
            continue  # not an admission central would accept either; it travels to central as it is
    read_up_to = rows[-1].seq if len(rows) == limit else top
    return admissions, read_up_to
