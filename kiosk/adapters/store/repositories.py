"""Repositories over the device store: rows ↔ domain values. They run inside a transaction the service owns."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from kiosk.adapters.store import tables as t
from kiosk.domain.catalog import Catalog
from kiosk.domain.model import (
    CheckinList,
    CheckinRecord,
    Event,
    IssuerKey,
    Movement,
    PassRule,
    Performance,
    Tariff,
    TariffKind,
    TicketRecord,
    TicketStatus,
)
from kiosk.domain.outbox import OutboxEvent
from kiosk.domain.scan_input import ScanTrace
from kiosk.domain.timeutil import iso
from kiosk.domain.verdicts import GateContext, Verdict

CATALOG_VERSION_KEY = "catalog_version"

# Statements on the check-in hot path are built once: building them per scan costs more than running them.
_META_VALUE = select(t.meta.c.value).where(t.meta.c.key == bindparam("key"))
_TICKET_BY_CODE = select(t.tickets).where(t.tickets.c.code == bindparam("code"))
_TICKET_BY_ID = select(t.tickets).where(t.tickets.c.ticket_id == bindparam("ticket_id"))
_IS_REVOKED = select(t.revocations.c.ticket_id).where(t.revocations.c.ticket_id == bindparam("ticket_id"))
_HISTORY = select(t.checkins).where(t.checkins.c.ticket_id == bindparam("ticket_id")).order_by(t.checkins.c.scanned_at)
_INSERT_CHECKIN = insert(t.checkins)
_INSERT_FAILED = insert(t.failed_scans)
_INSERT_OUTBOX = insert(t.outbox)


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.execute(_META_VALUE, {"key": key}).scalar_one_or_none()


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(delete(t.meta).where(t.meta.c.key == key))
    conn.execute(insert(t.meta).values(key=key, value=value))


class SqlCatalogStore:
    """Reads and replaces the catalog. Every change bumps `catalog_version`, which readers use to cache."""

    def version(self, conn: Connection) -> str:
        return get_meta(conn, CATALOG_VERSION_KEY) or ""

    def load(self, conn: Connection) -> Catalog:
        events = {r.id: Event(r.id, r.name, r.venue) for r in conn.execute(select(t.events))}
        perfs = {
            r.id: Performance(r.id, r.event_id, r.starts_at, r.doors_open, r.admission_closes, r.name)
            for r in conn.execute(select(t.performances))
        }
        tariffs = {
            r.id: Tariff(r.id, r.event_id, r.name, r.price, TariffKind(r.kind), r.icon)
            for r in conn.execute(select(t.tariffs))
        }
        pass_events: dict[int, set[int]] = defaultdict(set)
        for r in conn.execute(select(t.pass_events)):
            pass_events[r.pass_id].add(r.event_id)
        passes = {
            r.id: PassRule(
                r.id, r.tariff_id, r.name, r.valid_from, r.valid_until, r.entries_per_day, frozenset(pass_events[r.id])
            )
            for r in conn.execute(select(t.passes))
        }
        return Catalog(
            version=self.version(conn),
            events=events,
            performances=perfs,
            tariffs=tariffs,
            passes=passes,
            lists=self._lists(conn),
            gates={r.gate: r.id for r in conn.execute(select(t.checkin_lists)) if r.gate},
            keys=tuple(
                IssuerKey(r.key_id, bytes.fromhex(r.public_key), r.owner, r.revoked)
                for r in conn.execute(select(t.issuer_keys))
            ),
        )

    def _lists(self, conn: Connection) -> dict[int, CheckinList]:
        links: dict[str, dict[int, set[int]]] = {"e": defaultdict(set), "t": defaultdict(set), "p": defaultdict(set)}
        for r in conn.execute(select(t.checkin_list_events)):
            links["e"][r.list_id].add(r.event_id)
        for r in conn.execute(select(t.checkin_list_tariffs)):
            links["t"][r.list_id].add(r.tariff_id)
        for r in conn.execute(select(t.checkin_list_performances)):
            links["p"][r.list_id].add(r.performance_id)
        return {
            r.id: CheckinList(
                r.id,
                r.name,
                frozenset(links["e"][r.id]),
                frozenset(links["t"][r.id]),
                frozenset(links["p"][r.id]),
                r.allow_exit,
                r.allow_reentry,
            )
            for r in conn.execute(select(t.checkin_lists))
        }

    def replace(self, conn: Connection, catalog: Catalog, gates: dict[int, str | None] | None = None) -> None:
        """Replace the whole catalog in the caller's transaction (a snapshot is applied all or nothing)."""
        for table in (
            t.checkin_list_performances,
            t.checkin_list_tariffs,
            t.checkin_list_events,
            t.checkin_lists,
            t.pass_events,
            t.passes,
            t.tariffs,
            t.performances,
            t.events,
            t.issuer_keys,
        ):
            conn.execute(delete(table))
        _insert_many(
            conn, t.events, [{"id": e.id, "name": dict(e.name), "venue": e.venue} for e in catalog.events.values()]
        )
        _insert_many(conn, t.performances, [_perf_row(p) for p in catalog.performances.values()])
        _insert_many(conn, t.tariffs, [_tariff_row(x) for x in catalog.tariffs.values()])
        _insert_many(conn, t.passes, [_pass_row(p) for p in catalog.passes.values()])
        _insert_many(
            conn,
            t.pass_events,
            [{"pass_id": p.id, "event_id": e} for p in catalog.passes.values() for e in p.event_ids],
        )
        gate_of: dict[int, str | None] = {list_id: gate for gate, list_id in catalog.gates.items()}
        gate_of.update(gates or {})
        _insert_many(conn, t.checkin_lists, [_list_row(lst, gate_of.get(lst.id)) for lst in catalog.lists.values()])
        for col, attr, table in (
            ("event_id", "event_ids", t.checkin_list_events),
            ("tariff_id", "tariff_ids", t.checkin_list_tariffs),
            ("performance_id", "performance_ids", t.checkin_list_performances),
        ):
            rows = [{"list_id": lst.id, col: v} for lst in catalog.lists.values() for v in getattr(lst, attr)]
            _insert_many(conn, table, rows)
        _insert_many(
            conn,
            t.issuer_keys,
            [
                {"key_id": k.key_id, "public_key": k.public_key.hex(), "owner": k.owner, "revoked": k.revoked}
                for k in catalog.keys
            ],
        )
        set_meta(conn, CATALOG_VERSION_KEY, catalog.version)


def _insert_many(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(table), rows)


def _perf_row(p: Performance) -> dict[str, Any]:
    return {
        "id": p.id,
        "event_id": p.event_id,
        "name": dict(p.name),
        "starts_at": p.starts_at,
        "doors_open": p.doors_open,
        "admission_closes": p.admission_closes,
    }


def _tariff_row(x: Tariff) -> dict[str, Any]:
    return {
        "id": x.id,
        "event_id": x.event_id,
        "name": dict(x.name),
        "price": x.price,
        "kind": x.kind.value,
        "icon": x.icon,
    }


def _pass_row(p: PassRule) -> dict[str, Any]:
    return {
        "id": p.id,
        "tariff_id": p.tariff_id,
        "name": dict(p.name),
        "valid_from": p.valid_from,
        "valid_until": p.valid_until,
        "entries_per_day": p.entries_per_day,
    }


def _list_row(lst: CheckinList, gate: str | None) -> dict[str, Any]:
    return {
        "id": lst.id,
        "name": lst.name,
        "gate": gate,
        "allow_exit": lst.allow_exit,
        "allow_reentry": lst.allow_reentry,
    }


def ticket_row(tk: TicketRecord, source: str = "list") -> dict[str, Any]:
    return {
        "ticket_id": tk.ticket_id,
        "code": tk.code,
        "event_id": tk.event_id,
        "performance_id": tk.performance_id,
        "tariff_id": tk.tariff_id,
        "pass_id": tk.pass_id,
        "valid_from": tk.valid_from,
        "valid_until": tk.valid_until,
        "entries_allowed": tk.entries_allowed,
        "holder_name": tk.holder_name,
        "status": tk.status.value,
        "order_ref": tk.order_ref,
        "source": source,
    }


def _ticket(r: Any) -> TicketRecord:
    return TicketRecord(
        ticket_id=r.ticket_id,
        event_id=r.event_id,
        tariff_id=r.tariff_id,
        performance_id=r.performance_id,
        pass_id=r.pass_id,
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        entries_allowed=r.entries_allowed,
        holder_name=r.holder_name,
        status=TicketStatus(r.status),
        code=r.code,
        order_ref=r.order_ref,
    )


class SqlTicketStore:
    """The ticket list, revocations and the movements (check-ins) of each ticket."""

    def by_code(self, conn: Connection, code: str) -> TicketRecord | None:
        row = conn.execute(_TICKET_BY_CODE, {"code": code}).first()
        return _ticket(row) if row else None

    def by_id(self, conn: Connection, ticket_id: int) -> TicketRecord | None:
        row = conn.execute(_TICKET_BY_ID, {"ticket_id": ticket_id}).first()
        return _ticket(row) if row else None

    def upsert(self, conn: Connection, tickets: Iterable[TicketRecord], source: str = "list") -> int:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        rows = [ticket_row(tk, source) for tk in tickets]
        if not rows:
            return 0
        stmt = sqlite_insert(t.tickets)
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.tickets.c.ticket_id],
            set_={c.name: stmt.excluded[c.name] for c in t.tickets.columns if c.name != "ticket_id"},
        )
        conn.execute(stmt, rows)
        return len(rows)

    def is_revoked(self, conn: Connection, ticket_id: int) -> bool:
        return conn.execute(_IS_REVOKED, {"ticket_id": ticket_id}).first() is not None

    def revoke(self, conn: Connection, ticket_id: int, reason: str, at: datetime) -> None:
        conn.execute(delete(t.revocations).where(t.revocations.c.ticket_id == ticket_id))
        conn.execute(insert(t.revocations).values(ticket_id=ticket_id, reason=reason, revoked_at=at))

    def history(self, conn: Connection, ticket_id: int) -> tuple[CheckinRecord, ...]:
        rows = conn.execute(_HISTORY, {"ticket_id": ticket_id})
        return tuple(
            CheckinRecord(
                r.scan_id, r.ticket_id, Movement(r.movement), r.scanned_at, r.device_id, r.gate, r.performance_id
            )
            for r in rows
        )

    def record_movement(self, conn: Connection, scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime) -> None:
        assert verdict.ticket is not None and verdict.movement is not None
        conn.execute(
            _INSERT_CHECKIN,
            {
                "scan_id": scan_id,
                "ticket_id": verdict.ticket.ticket_id,
                "performance_id": verdict.performance_id,
                "movement": verdict.movement.value,
                "scanned_at": at,
                "device_id": ctx.device_id,
                "gate": ctx.gate,
                "list_id": ctx.checkin_list.id,
                "source": "local",
            },
        )

    def record_failed(
        self, conn: Connection, scan_id: str, verdict: Verdict, ctx: GateContext, at: datetime, seen: ScanTrace
    ) -> None:
        conn.execute(
            _INSERT_FAILED,
            {
                "scan_id": scan_id,
                "text_prefix": seen.prefix,
                "text_length": seen.length,
                "text_hash": seen.digest,
                "symbology": seen.symbology,
                "verdict": verdict.code.value,
                "detail": verdict.detail,
                "ticket_id": verdict.ticket.ticket_id if verdict.ticket else None,
                "scanned_at": at,
                "device_id": ctx.device_id,
                "gate": ctx.gate,
            },
        )

    def count(self, conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(t.tickets)).scalar_one())

    def code_owners(self, conn: Connection) -> dict[str | None, int]:
        """code → ticket id of every ticket (an import refuses a code that another ticket already has)."""
        return dict(conn.execute(select(t.tickets.c.code, t.tickets.c.ticket_id)).tuples().all())

    def newest_printable(self, conn: Connection) -> TicketRecord | None:
        """A ticket worth a label preview: the newest sold one, else any with a code and a performance."""
        row = conn.execute(
            select(t.tickets)
            .where(t.tickets.c.code.is_not(None), t.tickets.c.performance_id.is_not(None))
            .order_by((t.tickets.c.source == "sale").desc())
            .limit(1)
        ).first()
        return _ticket(row) if row else None


class SqlOutboxStore:
    """The transactional outbox: appended with the business rows, drained in `seq` order by the sync agent."""

    def append(self, conn: Connection, event: OutboxEvent) -> int:
        result = conn.execute(
            _INSERT_OUTBOX,
            {
                "event_id": event.event_id,
                "kind": event.kind,
                "occurred_at": event.occurred_at,
                "payload": json.dumps(dict(event.payload), separators=(",", ":"), ensure_ascii=False, default=str),
            },
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    def pending(self, conn: Connection, limit: int = 100) -> list[tuple[int, OutboxEvent]]:
        rows = conn.execute(
            select(t.outbox).where(t.outbox.c.synced_at.is_(None)).order_by(t.outbox.c.seq).limit(limit)
        )
        return [(r.seq, OutboxEvent(r.event_id, r.kind, r.occurred_at, json.loads(r.payload))) for r in rows]

    def pending_count(self, conn: Connection) -> int:
        return int(
            conn.execute(select(func.count()).select_from(t.outbox).where(t.outbox.c.synced_at.is_(None))).scalar_one()
        )

    def mark_synced(self, conn: Connection, event_ids: Iterable[str], at: datetime) -> int:
        ids = list(event_ids)
        if not ids:
            return 0
        result = conn.execute(
            update(t.outbox).where(t.outbox.c.event_id.in_(ids), t.outbox.c.synced_at.is_(None)).values(synced_at=at)
        )
        return int(result.rowcount)

    def oldest_pending_at(self, conn: Connection) -> datetime | None:
        return conn.execute(
            select(t.outbox.c.occurred_at).where(t.outbox.c.synced_at.is_(None)).order_by(t.outbox.c.seq).limit(1)
        ).scalar_one_or_none()


def describe_time(dt: datetime | None) -> str | None:
    return iso(dt) if dt else None
