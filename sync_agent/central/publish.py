"""What central publishes to a venue: signed catalog, ticket lists, revocations, admissions, commands.

Versions live in `central_published`, so a version is never reused even across restarts or instances.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from kiosk.domain.peer_admissions import peer_id
from kiosk.domain.timeutil import iso
from sync_agent import messages as m
from sync_agent.central import tables as ct
from sync_agent.signing import Signer
from sync_agent.topics import DeviceTopics, VenueTopics

Outgoing = tuple[str, bytes, bool]  # topic, payload, retained


def _bump(conn: Connection, venue: str, kind: str, *, new_version: bool, seq_step: int = 0) -> tuple[int, int]:
    p = ct.published.c
    row = conn.execute(select(ct.published).where(p.venue == venue, p.kind == kind)).first()
    if row is None:
        conn.execute(insert(ct.published).values(venue=venue, kind=kind, version=1, seq=0))
        return 1, 0
    version = int(row.version) + (1 if new_version else 0)
    seq = 0 if new_version else int(row.seq) + seq_step
    conn.execute(update(ct.published).where(p.venue == venue, p.kind == kind).values(version=version, seq=seq))
    return version, seq


def _remember(conn: Connection, venue: str, topic: str, body: dict[str, Any]) -> None:
    conn.execute(delete(ct.retained).where(ct.retained.c.venue == venue, ct.retained.c.topic == topic))
    conn.execute(insert(ct.retained).values(venue=venue, topic=topic, body=json.dumps(body)))


def retained_messages(engine: Engine, signer: Signer) -> list[Outgoing]:
    """Everything central keeps retained, signed now: catalogs, revocation lists, current ticket snapshots."""
    with engine.connect() as conn:
        stored = conn.execute(select(ct.retained)).all()
        venues = conn.execute(select(ct.published.c.venue).where(ct.published.c.kind == "tickets")).scalars().all()
    out: list[Outgoing] = [(r.topic, _signed(signer, json.loads(r.body)), True) for r in stored]
    for venue in venues:
        snapshot = current_snapshot_message(engine, signer, venue)
        if snapshot is not None:
            out.append(snapshot)
    return out


def _signed(signer: Signer, body: dict[str, Any]) -> bytes:
    return m.dumps(signer.envelope(body))


def catalog_message(engine: Engine, signer: Signer, venue: str, catalog_doc: dict[str, Any]) -> Outgoing:
    from sync_agent.documents import catalog_from_doc

    catalog_from_doc(catalog_doc)  # refuse to publish a catalog devices would reject
    topic = VenueTopics(venue).catalog
    with engine.begin() as conn:
        listed = device_keys(conn, venue)
        if listed and "device_keys" not in catalog_doc:  # the doors' keys from the registry: peers check with them
            catalog_doc = {**catalog_doc, "device_keys": listed}
        version, _ = _bump(conn, venue, "catalog", new_version=True)
        body = m.CatalogMessage(v=1, type="catalog", version=version, catalog=catalog_doc).model_dump(mode="json")
        _remember(conn, venue, topic, body)
    return topic, _signed(signer, body), True


def device_keys(conn: Connection, venue: str) -> list[dict[str, str]]:
    """The venue's registered devices that have a public key (`kiosk-central devices add --public-key`)."""
    d = ct.devices.c
    rows = conn.execute(
        select(d.device_id, d.public_key).where(d.venue == venue, d.public_key.is_not(None)).order_by(d.device_id)
    )
    return [{"device_id": r.device_id, "public_key": r.public_key} for r in rows]


def tickets_snapshot_message(engine: Engine, signer: Signer, venue: str, tickets: list[dict[str, Any]]) -> Outgoing:
    docs = [m.TicketDoc.model_validate(t) for t in tickets]
    size, limit = len(_snapshot(signer, venue, m.INT_MAX, 0, docs)[1]), m.MAX_BYTES["tickets_snapshot"]
    if size > limit:  # every device would refuse it as too_large: refuse here, before it replaces the stored list
        raise ValueError(f"a snapshot of {len(docs)} tickets is {size} bytes; devices accept at most {limit}")
    with engine.begin() as conn:
        snapshot_id, seq = _bump(conn, venue, "tickets", new_version=True)
        conn.execute(delete(ct.tickets).where(ct.tickets.c.venue == venue))
        rows = [{"venue": venue, "ticket_id": d.ticket_id, "doc": d.model_dump_json()} for d in docs]
        if rows:
            conn.execute(insert(ct.tickets), rows)
    return _snapshot(signer, venue, snapshot_id, seq, docs)


def _snapshot(signer: Signer, venue: str, snapshot_id: int, seq: int, docs: list[m.TicketDoc]) -> Outgoing:
    body = m.TicketSnapshot(v=1, type="tickets_snapshot", snapshot_id=snapshot_id, seq=seq, tickets=docs)
    return VenueTopics(venue).tickets_snapshot, _signed(signer, body.model_dump(mode="json")), True


def current_snapshot_message(engine: Engine, signer: Signer, venue: str) -> Outgoing | None:
    """The venue's list as it is now (deltas folded in): the answer to a device's resync request."""
    with engine.connect() as conn:
        state = conn.execute(
            select(ct.published).where(ct.published.c.venue == venue, ct.published.c.kind == "tickets")
        ).first()
        if state is None:
            return None
        docs = [
            m.TicketDoc.model_validate_json(d)
            for d in conn.execute(select(ct.tickets.c.doc).where(ct.tickets.c.venue == venue)).scalars()
        ]
    return _snapshot(signer, venue, int(state.version), int(state.seq), docs)


def tickets_delta_message(
    engine: Engine, signer: Signer, venue: str, upserts: list[dict[str, Any]], removed: list[int]
) -> Outgoing:
    docs = [m.TicketDoc.model_validate(t) for t in upserts]
    with engine.begin() as conn:
        snapshot_id, seq = _bump(conn, venue, "tickets", new_version=False, seq_step=1)
        if seq == 0:  # first publication ever: a delta needs a snapshot first
            raise ValueError("publish a ticket snapshot before deltas")
        ids = [d.ticket_id for d in docs] + list(removed)
        if ids:
            conn.execute(delete(ct.tickets).where(ct.tickets.c.venue == venue, ct.tickets.c.ticket_id.in_(ids)))
        if docs:
            conn.execute(
                insert(ct.tickets),
                [{"venue": venue, "ticket_id": d.ticket_id, "doc": d.model_dump_json()} for d in docs],
            )
    body = m.TicketDelta(v=1, type="tickets_delta", snapshot_id=snapshot_id, seq=seq, upserts=docs, removed=removed)
    return VenueTopics(venue).tickets_delta, _signed(signer, body.model_dump(mode="json")), False


def revocations_message(engine: Engine, signer: Signer, venue: str, revocations: list[dict[str, Any]]) -> Outgoing:
    docs = [m.RevocationDoc.model_validate(r) for r in revocations]
    topic = VenueTopics(venue).revocations
    with engine.begin() as conn:
        version, _ = _bump(conn, venue, "revocations", new_version=True)
        body = m.Revocations(v=1, type="revocations", version=version, revocations=docs).model_dump(mode="json")
        _remember(conn, venue, topic, body)
    return topic, _signed(signer, body), True


def admissions_message(signer: Signer, venue: str, admissions: list[m.PeerAdmission]) -> Outgoing:
    """Central's re-publication of stored admissions to the venue's doors, under their peer ids.

    Never the event ids: a door that learnt another door's event id could send it on its own `tx` first."""
    hidden = [a.model_copy(update={"scan_id": peer_id(a.scan_id)}) for a in admissions]
    body = m.CentralAdmissions(v=1, type="admissions", admissions=hidden).model_dump(mode="json")
    return VenueTopics(venue).admissions, _signed(signer, body), False


def command_message(
    signer: Signer, venue: str, device: str, name: str, args: dict[str, Any], now: datetime
) -> Outgoing:
    body = m.Command(
        v=1,
        type="command",
        command_id=str(uuid.uuid4()),
        device_id=device,
        name=name,
        args=args,
        issued_at=iso(now),
    )
    return DeviceTopics(venue, device).cmd, _signed(signer, body.model_dump(mode="json")), False


def read_json_file(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
