"""The SQL of central's and the peers' messages applied on a device: catalog, ticket list, revocations, check-ins
made at other doors, signed commands. Each function runs inside the inbound message's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kiosk.adapters.store import tables as t
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlTicketStore
from kiosk.adapters.store.sync_tables import sync_commands
from kiosk.domain.catalog import Catalog
from kiosk.domain.model import TicketRecord


@dataclass(frozen=True)
class PeerCheckin:
    """A movement made at another door of the venue, as the device records it."""

    scan_id: str
    ticket_id: int
    performance_id: int | None
    movement: str
    scanned_at: datetime
    device_id: str
    gate: str
    list_id: int | None


def replace_catalog(conn: Connection, catalog: Catalog) -> None:
    SqlCatalogStore().replace(conn, catalog)


def replace_list_tickets(conn: Connection, records: Sequence[TicketRecord]) -> None:
    """The ticket list's snapshot: every ticket that came from the list goes, the snapshot's take their place."""
    conn.execute(delete(t.tickets).where(t.tickets.c.source == "list"))
    SqlTicketStore().upsert(conn, records, source="list")


def apply_ticket_delta(conn: Connection, upserts: Sequence[TicketRecord], removed: Sequence[int]) -> None:
    SqlTicketStore().upsert(conn, upserts, source="list")
    if removed:
        conn.execute(delete(t.tickets).where(t.tickets.c.ticket_id.in_(list(removed))))


def replace_revocations(conn: Connection, revocations: Iterable[tuple[int, str, datetime]]) -> None:
    """The signed list is the whole truth, not an increment: (ticket_id, reason, revoked_at) rows."""
    conn.execute(delete(t.revocations))
    tickets = SqlTicketStore()
    for ticket_id, reason, at in revocations:
        tickets.revoke(conn, ticket_id, reason, at)


def insert_peer_checkin(conn: Connection, c: PeerCheckin) -> bool:
    """Record another door's movement once (idempotent on scan_id). True when it was new."""
    stmt = sqlite_insert(t.checkins).on_conflict_do_nothing(index_elements=["scan_id"])
    result = conn.execute(stmt, {**c.__dict__, "source": "peer"})
    return bool(result.rowcount)


def command_seen(conn: Connection, command_id: str) -> bool:
    return conn.execute(sync_commands.select().where(sync_commands.c.command_id == command_id)).first() is not None


def record_command(conn: Connection, command_id: str, name: str, result: str, at: datetime) -> None:
    conn.execute(sync_commands.insert().values(command_id=command_id, name=name, result=result, applied_at=at))


def erase_holders(conn: Connection, ticket_ids: Sequence[int]) -> int:
    """Forget the holder's name on these tickets (a data-protection request); the count of tickets changed."""
    stmt = update(t.tickets).where(t.tickets.c.ticket_id.in_(list(ticket_ids))).values(holder_name=None)
    return int(conn.execute(stmt).rowcount)
