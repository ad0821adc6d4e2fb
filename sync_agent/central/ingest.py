"""Central's database side: store a device batch exactly once, detect double admissions, answer stats.

One batch is one transaction. The event id is the primary key, so a batch delivered twice (a resend after a
lost ack, a broker redelivery, two central instances) changes nothing the second time and is acked again.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kiosk.domain.outbox import EventKind
from kiosk.domain.timeutil import iso
from sync_agent.central import tables as ct
from sync_agent.central.validate import event_problem
from sync_agent.messages import PeerAdmission, Rejection, TxBatch


def open_central_db(url: str) -> Engine:
    """SQLite path or URL, or a PostgreSQL URL (postgresql://… uses psycopg 3). Creates the tables."""
    if "://" not in url:
        url = f"sqlite+pysqlite:///{url}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        from kiosk.adapters.store.engine import make_engine

        # The device store's engine settings: WAL, synchronous=FULL, BEGIN IMMEDIATE (writers serialised).
        engine = make_engine(url.split("///", 1)[1])
    else:
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "connect", _pg_connect)
    ct.metadata.create_all(engine)
    return engine


def _pg_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.autocommit = False


def now_iso() -> str:
    return iso(datetime.now(UTC))


@dataclass
class IngestResult:
    acked: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    new_admissions: list[PeerAdmission] = field(default_factory=list)
    new_events: int = 0
    incidents: int = 0


def _insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=keys), rows)


def ingest_batch(conn: Connection, venue: str, batch: TxBatch) -> IngestResult:
    """Store the batch's valid events that central does not hold yet; caller commits, then acks."""
    result = IngestResult()
    at = now_iso()
    ids = [e.event_id for e in batch.events]
    known = set(conn.execute(select(ct.events.c.event_id).where(ct.events.c.event_id.in_(ids))).scalars())
    rows, rejects, admissions = [], [], []
    for ev in batch.events:
        problem = event_problem(ev, batch.device_id)
        if problem is not None:
            result.rejected.append(Rejection(event_id=ev.event_id, reason=problem))
            rejects.append(
                {"venue": venue, "device_id": batch.device_id, "event_id": ev.event_id, "reason": problem, "at": at}
            )
            continue
        result.acked.append(ev.event_id)
        if ev.event_id in known:
            continue
        known.add(ev.event_id)
        rows.append(
            {
                "event_id": ev.event_id,
                "venue": venue,
                "device_id": batch.device_id,
                "seq": ev.seq,
                "kind": ev.kind,
                "occurred_at": ev.occurred_at,
                "payload": json.dumps(ev.payload, separators=(",", ":"), ensure_ascii=False),
                "received_at": at,
            }
        )
        if ev.kind == EventKind.CHECKIN:
            p = ev.payload
            admissions.append(
                PeerAdmission(
                    v=1,
                    scan_id=ev.event_id,
                    ticket_id=p["ticket_id"],
                    performance_id=p.get("performance_id"),
                    movement=p["movement"],
                    device_id=batch.device_id,
                    gate=p["gate"],
                    list_id=p.get("list_id") if isinstance(p.get("list_id"), int) else None,
                    scanned_at=p["scanned_at"],
                )
            )
    _insert_ignore(conn, ct.events, rows, ["event_id"])
    if rejects:
        conn.execute(insert(ct.rejections), rejects)
    _insert_ignore(
        conn,
        ct.admissions,
        [{**a.model_dump(exclude={"v", "list_id"}), "venue": venue} for a in admissions],
        ["scan_id"],
    )
    result.incidents = _check_doubles(conn, venue, [a for a in admissions if a.movement == "entry"], at)
    _insert_ignore(
        conn,
        ct.batches,
        [
            {
                "batch_id": f"{batch.device_id}:{batch.batch_id}",
                "venue": venue,
                "device_id": batch.device_id,
                "events": len(batch.events),
                "new_events": len(rows),
                "committed_at": at,
            }
        ],
        ["batch_id"],
    )
    result.new_events = len(rows)
    result.new_admissions = admissions
    return result


def _check_doubles(conn: Connection, venue: str, entries: list[PeerAdmission], at: str) -> int:
    """Entries of one ticket for one performance by two devices are a double admission (one incident per pair).

    One query per batch: every entry already stored for the batch's tickets, then the pairs in Python.
    """
    if not entries:
        return 0
    if conn.dialect.name == "postgresql":
        # Two central instances judging two entries of one ticket at once must see each other: serialise per venue.
        conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(venue.encode()))))
    a = ct.admissions.c
    known: dict[tuple[int, int | None], list[Any]] = {}
    tickets = sorted({e.ticket_id for e in entries})
    for chunk in range(0, len(tickets), 500):
        rows = conn.execute(
            select(a.scan_id, a.ticket_id, a.performance_id, a.device_id, a.gate, a.scanned_at).where(
                a.venue == venue, a.movement == "entry", a.ticket_id.in_(tickets[chunk : chunk + 500])
            )
        )
        for r in rows:
            known.setdefault((r.ticket_id, r.performance_id), []).append(r)
    incidents = []
    for adm in entries:
        others = [r for r in known.get((adm.ticket_id, adm.performance_id), ()) if r.device_id != adm.device_id]
        if not others:
            continue
        first = min(others, key=lambda r: (r.scanned_at, r.scan_id))
        mine = (adm.scanned_at, adm.scan_id, adm.device_id, adm.gate)
        theirs = (first.scanned_at, first.scan_id, first.device_id, first.gate)
        early, late = sorted((mine, theirs))
        incidents.append(
            {
                "venue": venue,
                "kind": "double_admission",
                "ticket_id": adm.ticket_id,
                "performance_id": adm.performance_id,
                "first_at": early[0],
                "first_scan_id": early[1],
                "first_device": early[2],
                "first_gate": early[3],
                "second_at": late[0],
                "second_scan_id": late[1],
                "second_device": late[2],
                "second_gate": late[3],
                "detected_at": at,
            }
        )
    _insert_ignore(conn, ct.incidents, incidents, ["first_scan_id", "second_scan_id"])
    return len(incidents)


def mark_ack_sent(conn: Connection, device_id: str, batch_id: str) -> None:
    conn.execute(
        update(ct.batches)
        .where(ct.batches.c.batch_id == f"{device_id}:{batch_id}", ct.batches.c.ack_sent_at.is_(None))
        .values(ack_sent_at=now_iso())
    )


def list_incidents(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(ct.incidents).order_by(ct.incidents.c.id))
    return [dict(r._mapping) for r in rows]


def stats(conn: Connection) -> dict[str, Any]:
    e = ct.events.c
    by_kind = {k: int(n) for k, n in conn.execute(select(e.kind, func.count()).group_by(e.kind))}
    by_device: dict[str, dict[str, int]] = {}
    for dev, kind, n in conn.execute(select(e.device_id, e.kind, func.count()).group_by(e.device_id, e.kind)):
        by_device.setdefault(dev, {})[kind] = int(n)
    pending = conn.execute(
        select(func.count()).select_from(ct.batches).where(ct.batches.c.ack_sent_at.is_(None))
    ).scalar_one()
    reasons = Counter(
        {
            r: int(n)
            for r, n in conn.execute(select(ct.rejections.c.reason, func.count()).group_by(ct.rejections.c.reason))
        }
    )
    return {
        "events": sum(by_kind.values()),
        "by_kind": by_kind,
        "by_device": by_device,
        "pending_acks": int(pending),
        "incidents": int(conn.execute(select(func.count()).select_from(ct.incidents)).scalar_one()),
        "rejected": dict(reasons),
    }
