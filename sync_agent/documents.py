"""JSON documents for the catalog and tickets carried by the protocol ↔ the domain's frozen dataclasses."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from kiosk.domain.catalog import Catalog
from kiosk.domain.model import (
    CheckinList,
    Event,
    IssuerKey,
    PassRule,
    Performance,
    Tariff,
    TariffKind,
    TicketRecord,
    TicketStatus,
)
from kiosk.domain.timeutil import iso, parse_instant
from sync_agent.messages import MessageError, TicketDoc


def _opt_iso(value: Any) -> str | None:
    return iso(value) if value is not None else None


def catalog_to_doc(catalog: Catalog) -> dict[str, Any]:
    return {
        "version": catalog.version,
        "events": [{"id": e.id, "name": dict(e.name), "venue": e.venue} for e in catalog.events.values()],
        "performances": [
            {
                "id": p.id,
                "event_id": p.event_id,
                "starts_at": iso(p.starts_at),
                "doors_open": iso(p.doors_open),
                "admission_closes": _opt_iso(p.admission_closes),
                "name": dict(p.name),
            }
            for p in catalog.performances.values()
        ],
        "tariffs": [
            {
                "id": x.id,
                "event_id": x.event_id,
                "name": dict(x.name),
                "price": str(x.price),
                "kind": x.kind.value,
                "icon": x.icon,
            }
            for x in catalog.tariffs.values()
        ],
        "passes": [
            {
                "id": p.id,
                "tariff_id": p.tariff_id,
                "name": dict(p.name),
                "valid_from": iso(p.valid_from),
                "valid_until": iso(p.valid_until),
                "entries_per_day": p.entries_per_day,
                "event_ids": sorted(p.event_ids),
            }
            for p in catalog.passes.values()
        ],
        "lists": [
            {
                "id": lst.id,
                "name": lst.name,
                "event_ids": sorted(lst.event_ids),
                "tariff_ids": sorted(lst.tariff_ids),
                "performance_ids": sorted(lst.performance_ids),
                "allow_exit": lst.allow_exit,
                "allow_reentry": lst.allow_reentry,
            }
            for lst in catalog.lists.values()
        ],
        "gates": dict(catalog.gates),
        "keys": [
            {"key_id": k.key_id, "public_key": k.public_key.hex(), "owner": k.owner, "revoked": k.revoked}
            for k in catalog.keys
        ],
    }


def catalog_from_doc(doc: dict[str, Any]) -> Catalog:
    """The catalog in `doc`; any missing field or wrong type is a MessageError (never a half catalog)."""
    try:
        return Catalog(
            version=str(doc["version"]),
            events={e["id"]: Event(int(e["id"]), dict(e["name"]), str(e.get("venue", ""))) for e in doc["events"]},
            performances={
                p["id"]: Performance(
                    int(p["id"]),
                    int(p["event_id"]),
                    parse_instant(p["starts_at"]),
                    parse_instant(p["doors_open"]),
                    parse_instant(p["admission_closes"]) if p.get("admission_closes") else None,
                    dict(p.get("name") or {}),
                )
                for p in doc["performances"]
            },
            tariffs={
                x["id"]: Tariff(
                    int(x["id"]),
                    x["event_id"] if x.get("event_id") is None else int(x["event_id"]),
                    dict(x["name"]),
                    Decimal(str(x["price"])),
                    TariffKind(x.get("kind", "single")),
                    str(x.get("icon", "standard")),
                )
                for x in doc["tariffs"]
            },
            passes={
                p["id"]: PassRule(
                    int(p["id"]),
                    int(p["tariff_id"]),
                    dict(p["name"]),
                    parse_instant(p["valid_from"]),
                    parse_instant(p["valid_until"]),
                    p.get("entries_per_day"),
                    frozenset(int(e) for e in p.get("event_ids", ())),
                )
                for p in doc.get("passes", ())
            },
            lists={
                x["id"]: CheckinList(
                    int(x["id"]),
                    str(x["name"]),
                    frozenset(int(e) for e in x["event_ids"]),
                    frozenset(int(e) for e in x.get("tariff_ids", ())),
                    frozenset(int(e) for e in x.get("performance_ids", ())),
                    bool(x.get("allow_exit", False)),
                    bool(x.get("allow_reentry", False)),
                )
                for x in doc["lists"]
            },
            gates={str(g): int(i) for g, i in dict(doc.get("gates", {})).items()},
            keys=tuple(
                IssuerKey(int(k["key_id"]), bytes.fromhex(k["public_key"]), str(k["owner"]), bool(k.get("revoked")))
                for k in doc.get("keys", ())
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise MessageError("schema", f"catalog: {type(exc).__name__}: {exc}"[:160]) from exc


def ticket_to_doc(tk: TicketRecord) -> dict[str, Any]:
    return {
        "ticket_id": tk.ticket_id,
        "event_id": tk.event_id,
        "tariff_id": tk.tariff_id,
        "performance_id": tk.performance_id,
        "pass_id": tk.pass_id,
        "code": tk.code,
        "valid_from": _opt_iso(tk.valid_from),
        "valid_until": _opt_iso(tk.valid_until),
        "entries_allowed": tk.entries_allowed,
        "holder_name": tk.holder_name,
        "status": tk.status.value,
        "order_ref": tk.order_ref,
    }


def ticket_from_doc(doc: TicketDoc) -> TicketRecord:
    try:
        return TicketRecord(
            ticket_id=doc.ticket_id,
            event_id=doc.event_id,
            tariff_id=doc.tariff_id,
            performance_id=doc.performance_id,
            pass_id=doc.pass_id,
            valid_from=parse_instant(doc.valid_from) if doc.valid_from else None,
            valid_until=parse_instant(doc.valid_until) if doc.valid_until else None,
            entries_allowed=doc.entries_allowed,
            holder_name=doc.holder_name,
            status=TicketStatus(doc.status),
            code=doc.code,
            order_ref=doc.order_ref,
        )
    except ValueError as exc:
        raise MessageError("schema", f"ticket {doc.ticket_id}: {exc}"[:160]) from exc
