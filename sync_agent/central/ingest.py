"""Central's database side: store a device batch exactly once, detect double admissions, answer stats.

One batch is one transaction. The event id is the primary key, so a batch delivered twice (a resend after a
lost ack, a broker redelivery, two central instances) changes nothing the second time and is acked again.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kiosk.domain.events import Checkin, Event, EventRejected
from kiosk.domain.timeutil import iso
from sync_agent.central import tables as ct
from sync_agent.central.devices import SKEW_LIMIT_S, batch_skew, clock_off, record_skew, role_of
from sync_agent.central.migrate import upgrade
from sync_agent.central.repeats import Held, conflict_row, held, repeat_reason
from sync_agent.central.validate import check_event
from sync_agent.messages import PeerAdmission, Rejection, TxBatch, TxEvent


def open_central_db(url: str) -> Engine:
    """SQLite path or URL, or a PostgreSQL URL (postgresql://… uses psycopg 3), migrated to the newest schema."""
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
    upgrade(engine)
    return engine


def _pg_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.autocommit = False


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


def ingest_batch(conn: Connection, venue: str, batch: TxBatch, now: datetime) -> IngestResult:
    """Store the batch's valid events that central does not hold yet; caller commits, then acks.

    Only an identical repeat of an event by the device that first sent it is acked as known; another device's
    id or other content is rejected and recorded (`repeats.py`). Every event is checked against the sender's
    role; the batch's clock skew is recorded, and events of a clock off by more than 5 minutes are flagged."""
    result = IngestResult()
    at = iso(now)
    device = batch.device_id
    known = held(conn, [e.event_id for e in batch.events])
    role = role_of(conn, venue, device)
    flag = _clock(conn, venue, batch, now)
    rows, rejects, conflicts, admissions = [], [], [], []
    allowed: dict[str, int] = {}  # scan id -> the ticket's entries per performance, from the payload

    def reject(event_id: str, reason: str) -> None:
        result.rejected.append(Rejection(event_id=event_id, reason=reason))
        rejects.append({"venue": venue, "device_id": device, "event_id": event_id, "reason": reason, "at": at})

    for ev in batch.events:
        try:
            model = _checked(ev, device, role)
        except EventRejected as exc:
            reject(ev.event_id, exc.reason)
            continue
        content = model.model_dump_json(by_alias=True)  # as validated, with the defaults older devices omit
        prior = known.get(ev.event_id)
        if prior is not None:
            why = repeat_reason(prior, device, ev.kind, ev.occurred_at, ev.event_id, content)
            if why is None:
                result.acked.append(ev.event_id)
            else:
                reject(ev.event_id, why)
                conflicts.append(conflict_row(venue, ev.event_id, ev.kind, why, prior.device_id, device, at))
            continue
        result.acked.append(ev.event_id)
        known[ev.event_id] = Held(device, ev.kind, ev.occurred_at, content)
        rows.append(
            {
                "event_id": ev.event_id,
                "venue": venue,
                "device_id": device,
                "seq": ev.seq,
                "kind": ev.kind,
                "occurred_at": ev.occurred_at,
                "payload": content,
                "received_at": at,
                "clock_skew_s": flag,
            }
        )
        if isinstance(model, Checkin):
            allowed[ev.event_id] = model.entries_allowed
            admissions.append(_admission(model, device))
    lost = set()
    for row, why, owner in _lost_races(conn, rows):
        lost.add(row["event_id"])
        result.acked.remove(row["event_id"])
        reject(row["event_id"], why)
        conflicts.append(conflict_row(venue, row["event_id"], row["kind"], why, owner, device, at))
    rows = [r for r in rows if r["event_id"] not in lost]
    admissions = [a for a in admissions if a.scan_id not in lost]
    if rejects:
        conn.execute(insert(ct.rejections), rejects)
    if conflicts:
        conn.execute(insert(ct.conflicts), conflicts)
    _insert_ignore(
        conn,
        ct.admissions,
        [
            {**a.model_dump(exclude={"v", "list_id"}), "venue": venue, "entries_allowed": allowed[a.scan_id]}
            for a in admissions
        ],
        ["scan_id"],
    )
    result.incidents = _check_doubles(conn, venue, [a for a in admissions if a.movement == "entry"], at)
    _record_batch(conn, venue, batch, len(rows), at)
    result.new_events = len(rows)
    result.new_admissions = admissions
    return result


def _checked(ev: TxEvent, device: str, role: str | None) -> Event:
    if role is None:
        raise EventRejected("device not in central's registry for this venue", reason="unknown_device")
    return check_event(ev, device, role)


def _record_batch(conn: Connection, venue: str, batch: TxBatch, new_events: int, at: str) -> None:
    row = {
        "batch_id": f"{batch.device_id}:{batch.batch_id}",
        "venue": venue,
        "device_id": batch.device_id,
        "events": len(batch.events),
        "new_events": new_events,
        "committed_at": at,
    }
    _insert_ignore(conn, ct.batches, [row], ["batch_id"])


def _clock(conn: Connection, venue: str, batch: TxBatch, now: datetime) -> int | None:
    """Record the device's clock skew; the flag its events carry when it is more than 5 minutes off."""
    skew = batch_skew(batch.sent_at, [e.occurred_at for e in batch.events], now)
    if skew is None:
        return None
    record_skew(conn, venue, batch.device_id, skew[0], skew[1], now)
    return round(skew[0]) if abs(skew[0]) > SKEW_LIMIT_S else None


def _admission(model: Checkin, device: str) -> PeerAdmission:
    return PeerAdmission(
        v=1,
        scan_id=model.scan_id,
        ticket_id=model.ticket_id,
        performance_id=model.performance_id,
        movement=model.movement,
        device_id=device,
        gate=model.gate,
        list_id=model.list_id,
        scanned_at=model.scanned_at,
    )


def _lost_races(conn: Connection, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str]]:
    """Insert the new events; an id another instance stored meanwhile (PostgreSQL: our insert waited for its
    commit) is compared like any repeat: (event id, reason, owner) for each that is not this device's identical
    copy."""
    if not rows:
        return []
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ct.events).on_conflict_do_nothing(index_elements=["event_id"]).returning(ct.events.c.event_id)
    inserted = set(conn.execute(stmt, rows).scalars())
    lost = [r for r in rows if r["event_id"] not in inserted]
    if not lost:
        return []
    prior = held(conn, [r["event_id"] for r in lost])
    out = []
    for r in lost:
        why = repeat_reason(prior[r["event_id"]], r["device_id"], r["kind"], r["occurred_at"], r["event_id"],
                            r["payload"])  # fmt: skip
        if why is not None:
            out.append((r, why, prior[r["event_id"]].device_id))
    return out


def _check_doubles(conn: Connection, venue: str, entries: list[PeerAdmission], at: str) -> int:
    """Entries of one ticket for one performance beyond its allowance, by two or more devices: double admissions.

    A group is the `entry` movements of (ticket, performance), in scan-time order (re-entries and exits never
    count); its allowance is the largest `entries_allowed` its entries carried (absent or NULL = 1). When the
    group has more entries than the allowance and more than one device made them, each entry beyond the
    allowance is one incident, paired with the earliest entry of another device. Incidents are only added up to
    that excess, whatever order the batches arrive in, so a late or redelivered batch adds none twice.
    """
    if not entries:
        return 0
    if conn.dialect.name == "postgresql":
        # Two central instances judging two entries of one ticket at once must see each other: serialise per venue.
        conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(venue.encode()))))
    groups = _entry_groups(conn, venue, {(e.ticket_id, e.performance_id) for e in entries})
    over = {key: rows for key, rows in groups.items() if _excess(rows)}
    if not over:
        return 0
    pairs = _flagged_pairs(conn, venue, set(over))
    incidents = []
    for key, rows in over.items():
        known = pairs.get(key, set())
        for first, second in _new_pairs(rows, known):
            incidents.append(_incident(venue, key, first, second, at))
    _insert_ignore(conn, ct.incidents, incidents, ["first_scan_id", "second_scan_id"])
    return len(incidents)


_Key = tuple[int, int | None]


def _allowance(rows: list[Any]) -> int:
    return max((r.entries_allowed or 1) for r in rows)


def _excess(rows: list[Any]) -> list[Any]:
    """The entries beyond the allowance, when at least two devices made the group's entries."""
    if len({r.device_id for r in rows}) < 2:
        return []
    return rows[_allowance(rows) :]


def _entry_groups(conn: Connection, venue: str, keys: set[_Key]) -> dict[_Key, list[Any]]:
    """Every stored entry of the given (ticket, performance) groups, in scan-time order (one query per 500)."""
    a = ct.admissions.c
    groups: dict[_Key, list[Any]] = {}
    tickets = sorted({ticket for ticket, _ in keys})
    for chunk in range(0, len(tickets), 500):
        rows = conn.execute(
            select(a.scan_id, a.ticket_id, a.performance_id, a.device_id, a.gate, a.scanned_at, a.entries_allowed)
            .where(a.venue == venue, a.movement == "entry", a.ticket_id.in_(tickets[chunk : chunk + 500]))
            .order_by(a.scanned_at, a.scan_id)
        )
        for r in rows:
            key = (r.ticket_id, r.performance_id)
            if key in keys:
                groups.setdefault(key, []).append(r)
    return groups


def _flagged_pairs(conn: Connection, venue: str, keys: set[_Key]) -> dict[_Key, set[tuple[str, str]]]:
    i = ct.incidents.c
    pairs: dict[_Key, set[tuple[str, str]]] = {}
    tickets = sorted({ticket for ticket, _ in keys})
    for chunk in range(0, len(tickets), 500):
        rows = conn.execute(
            select(i.ticket_id, i.performance_id, i.first_scan_id, i.second_scan_id).where(
                i.venue == venue, i.kind == "double_admission", i.ticket_id.in_(tickets[chunk : chunk + 500])
            )
        )
        for r in rows:
            pairs.setdefault((r.ticket_id, r.performance_id), set()).add((r.first_scan_id, r.second_scan_id))
    return pairs


def _new_pairs(rows: list[Any], known: set[tuple[str, str]]) -> list[tuple[Any, Any]]:
    """Pairs to record so that the group has one incident per excess entry: excess entries not in any incident
    first, each with the earliest entry of another device that makes a pair not recorded yet."""
    excess = _excess(rows)
    need = len(excess) - len(known)
    if need <= 0:
        return []
    seen = {scan for pair in known for scan in pair}
    ordered = [r for r in excess if r.scan_id not in seen] + [r for r in excess if r.scan_id in seen]
    made: list[tuple[Any, Any]] = []
    for entry in ordered:
        for other in (r for r in rows if r.device_id != entry.device_id):
            first, second = sorted((entry, other), key=lambda r: (r.scanned_at, r.scan_id))
            if (first.scan_id, second.scan_id) not in known:
                known.add((first.scan_id, second.scan_id))
                made.append((first, second))
                break
        if len(made) == need:
            break
    return made


def _incident(venue: str, key: _Key, first: Any, second: Any, at: str) -> dict[str, Any]:
    return {
        "venue": venue,
        "kind": "double_admission",
        "ticket_id": key[0],
        "performance_id": key[1],
        "first_at": first.scanned_at,
        "first_scan_id": first.scan_id,
        "first_device": first.device_id,
        "first_gate": first.gate,
        "second_at": second.scanned_at,
        "second_scan_id": second.scan_id,
        "second_device": second.device_id,
        "second_gate": second.gate,
        "detected_at": at,
    }


def mark_ack_sent(conn: Connection, device_id: str, batch_id: str, now: datetime) -> None:
    conn.execute(
        update(ct.batches)
        .where(ct.batches.c.batch_id == f"{device_id}:{batch_id}", ct.batches.c.ack_sent_at.is_(None))
        .values(ack_sent_at=iso(now))
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
        "conflicts": int(conn.execute(select(func.count()).select_from(ct.conflicts)).scalar_one()),
        "clock_off": clock_off(conn),  # devices whose clock was off by more than 5 minutes at their last batch
        "database_busy": _busy_episodes(conn),
    }


def _busy_episodes(conn: Connection) -> dict[str, dict[str, Any]]:
    """Per central instance: the database busy episodes it sat out holding batches (written as each ended)."""
    h = ct.health.c
    rows = conn.execute(select(ct.health).where(h.busy_episodes > 0).order_by(h.instance))
    return {
        r.instance: {
            "episodes": int(r.busy_episodes),
            "retries": int(r.busy_retries),
            "let_go": int(r.busy_let_go),
            "last_since": r.last_busy_since,
            "last_s": float(r.last_busy_s or 0.0),
        }
        for r in rows
    }
