"""InboundHandler on a real store, without a broker: extra catalog sections apply in the catalog's transaction,
and a section that fails takes the whole catalog back (nothing half-applied)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlCatalogStore
from kiosk.demo.venue import DemoVenue
from kiosk.domain.clock import fixed_clock
from sync_agent.documents import catalog_to_doc
from sync_agent.inbound import InboundHandler
from sync_agent.status import get_state, set_state
from sync_agent.topics import DeviceTopics

AT = datetime(2027, 12, 31, 22, 59, tzinfo=UTC)  # 23:59 in Zurich: the last minute of the year


def test_catalog_sections_apply_all_or_nothing(demo_venue: tuple[Store, DemoVenue], keys) -> None:  # type: ignore[no-untyped-def]
    store, venue = demo_venue

    def promotions(conn: Connection, section: Any) -> None:
        if section is None:
            return
        if not isinstance(section, list):
            raise TypeError("promotions must be a list")
        set_state(conn, "test_promotions", json.dumps(section))

    topics = DeviceTopics("lac", "door-a")
    handler = InboundHandler(
        store, topics, keys.verifier(), fixed_clock(AT), lambda *_: None, {"promotions": promotions}
    )
    doc = catalog_to_doc(venue.catalog)

    def send(version: int, label: str, promos: Any) -> str:
        body = {
            "v": 1,
            "type": "catalog",
            "version": version,
            "catalog": {**doc, "version": label, "promotions": promos},
        }
        return handler.handle(topics.venue_topics.catalog, json.dumps(keys.signer.envelope(body)).encode())

    assert send(1, "with-promos", [{"code": "EARLY"}]) == "applied"
    assert send(2, "broken-promos", {"not": "a list"}) == "schema"
    with store.read() as conn:
        assert SqlCatalogStore().version(conn) == "with-promos"  # the broken one left nothing behind
        assert json.loads(get_state(conn, "test_promotions")) == [{"code": "EARLY"}]
    doc_without = {k: v for k, v in doc.items()}
    body = {"v": 1, "type": "catalog", "version": 3, "catalog": {**doc_without, "version": "no-promos"}}
    assert handler.handle(topics.venue_topics.catalog, json.dumps(keys.signer.envelope(body)).encode()) == "applied"
    bad_doc = {**doc, "events": [{"id": "x"}]}
    body = {"v": 1, "type": "catalog", "version": 4, "catalog": bad_doc}
    assert handler.handle(topics.venue_topics.catalog, json.dumps(keys.signer.envelope(body)).encode()) == "schema"
    with store.read() as conn:
        assert SqlCatalogStore().version(conn) == "no-promos"


def test_feature_commands_run_once_in_their_transaction(demo_venue: tuple[Store, DemoVenue], keys) -> None:  # type: ignore[no-untyped-def]
    from kiosk.domain.timeutil import iso

    store, _ = demo_venue
    seen: list[Any] = []

    def grant(conn: Connection, args: Any) -> str:
        seats = int(args["seats"])
        set_state(conn, "test_grant", str(seats))
        seen.append(seats)
        return f"granted {seats}"

    topics = DeviceTopics("lac", "door-a")
    handler = InboundHandler(
        store, topics, keys.verifier(), fixed_clock(AT), lambda *_: None, commands={"grant": grant}
    )

    def send(command_id: str, args: dict[str, Any]) -> str:
        body = {"v": 1, "type": "command", "command_id": command_id, "device_id": "door-a", "name": "grant",
                "args": args, "issued_at": iso(AT)}  # fmt: skip
        return handler.handle(topics.cmd, json.dumps(keys.signer.envelope(body)).encode())

    assert send("g1", {"seats": 4}) == "applied"
    assert send("g1", {"seats": 4}) == "duplicate"
    assert send("g2", {"seats": "many"}) == "bad_arguments"
    with store.read() as conn:
        assert get_state(conn, "test_grant") == "4"
    assert seen == [4]


def test_ticket_deltas_out_of_order_or_from_another_snapshot_ask_for_a_resync(
    demo_venue: tuple[Store, DemoVenue],
    keys,  # type: ignore[no-untyped-def]
) -> None:
    from sync_agent.documents import ticket_to_doc

    store, venue = demo_venue
    resyncs: list[tuple[str, int, int]] = []
    topics = DeviceTopics("lac", "door-a")
    handler = InboundHandler(store, topics, keys.verifier(), fixed_clock(AT), lambda *a: resyncs.append(a))
    vt = topics.venue_topics
    docs = [ticket_to_doc(tk) for tk in venue.tickets[:3]]

    def send(topic: str, body: dict[str, Any]) -> str:
        return handler.handle(topic, json.dumps(keys.signer.envelope(body)).encode())

    def delta(snapshot: int, seq: int) -> dict[str, Any]:
        return {"v": 1, "type": "tickets_delta", "snapshot_id": snapshot, "seq": seq, "upserts": docs[:1]}

    assert send(vt.tickets_snapshot, {"v": 1, "type": "tickets_snapshot", "snapshot_id": 2, "seq": 5,
                                      "tickets": docs}) == "applied"  # fmt: skip
    assert send(vt.tickets_delta, delta(2, 7)) == "gap"  # 6 is missing
    assert send(vt.tickets_delta, delta(1, 6)) == "gap"  # from an older snapshot
    assert send(vt.tickets_delta, delta(3, 1)) == "gap"  # from a newer snapshot we do not have yet
    assert send(vt.tickets_delta, delta(2, 5)) == "ignored_old"
    assert send(vt.tickets_delta, delta(2, 6)) == "applied"
    assert [r[0] for r in resyncs] == ["gap", "gap", "gap"]
    assert resyncs[0][1:] == (2, 5)
    assert send(vt.tickets_snapshot, {"v": 1, "type": "tickets_snapshot", "snapshot_id": 2, "seq": 6,
                                      "tickets": docs}) == "ignored_old"  # fmt: skip
