"""Inbound messages on a device: verify, validate, apply in one transaction — or reject, count and log.

Nothing here raises to the caller: every message ends as an outcome ("applied", "ignored_old", or a rejection
reason) counted in `sync_inbound_counters`. Central → device messages must carry a valid Ed25519 signature;
peer admissions must carry the sending door's (its key is listed in the catalog, `sync_agent.peers`) and are
checked against the topic they came on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kiosk.adapters.store import sync_inbound_repository as repo
from kiosk.adapters.store.engine import Store, StoreError
from kiosk.adapters.store.sync_repository import StoreConnection as Connection
from kiosk.adapters.store.sync_repository import is_busy
from kiosk.domain.clock import Clock
from kiosk.domain.errors import KioskError
from kiosk.domain.timeutil import parse_instant
from sync_agent import messages as m

# Re-exported: features register command handlers under this name (docs/protocol.md).
from sync_agent.commands import COMMAND_MAX_AGE as COMMAND_MAX_AGE  # noqa: PLC0414
from sync_agent.commands import CommandHandler as CommandHandler  # noqa: PLC0414
from sync_agent.commands import CommandRejected, CommandRunner
from sync_agent.documents import catalog_from_doc, ticket_from_doc
from sync_agent.peers import GapCallback, RequestCallback, apply_device_keys, open_peer_message, record_numbers
from sync_agent.signing import SignatureError, Verifier
from sync_agent.status import count_inbound, get_state, set_state
from sync_agent.topics import DeviceTopics, split_device_topic

log = logging.getLogger("kiosk.sync.inbound")

# Applies one extra catalog section (e.g. "promotions") in the catalog's transaction; gets None when absent.
SectionApplier = Callable[[Connection, Any], None]
APPLIED, IGNORED_OLD = "applied", "ignored_old"
# sync_state keys
CATALOG_VERSION, REVOCATIONS_VERSION = "catalog_msg_version", "revocations_version"
TICKETS_SNAPSHOT, TICKETS_SEQ, DATA_AT = "tickets_snapshot_id", "tickets_seq", "data_at"


class Rejected(KioskError):
    reason = "rejected"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def insert_peer_checkin(conn: Connection, adm: m.PeerAdmission) -> bool:
    """A movement made at another door, recorded once (idempotent on scan_id). True when it was new."""
    checkin = repo.PeerCheckin(
        scan_id=adm.scan_id,
        ticket_id=adm.ticket_id,
        performance_id=adm.performance_id,
        movement=adm.movement,
        scanned_at=parse_instant(adm.scanned_at),
        device_id=adm.device_id,
        gate=adm.gate,
        list_id=adm.list_id,
    )
    return repo.insert_peer_checkin(conn, checkin)


class InboundHandler:
    """Applies one inbound message; `on_resync_needed` is called when the ticket list has a gap."""

    def __init__(
        self,
        store: Store,
        topics: DeviceTopics,
        verifier: Verifier,
        clock: Clock,
        on_resync_needed: Callable[[str, int, int], None],
        sections: Mapping[str, SectionApplier] | None = None,
        commands: Mapping[str, CommandHandler] | None = None,
        *,
        on_central_time: Callable[[datetime], None] | None = None,
        central_now: Callable[[], datetime | None] | None = None,
        on_peer_gap: GapCallback | None = None,
        on_peer_request: RequestCallback | None = None,
    ) -> None:
        self.store = store
        self.on_peer_gap, self.on_peer_request = on_peer_gap, on_peer_request
        self.topics = topics
        self.venue = topics.venue_topics
        self.verifier = verifier
        self.clock = clock
        self.on_resync_needed = on_resync_needed
        self.sections = dict(sections or {})
        self.on_central_time = on_central_time  # told the time of each verified command addressed to this device
        self.commands = CommandRunner(
            topics.device,
            clock,
            commands or {},
            lambda conn: self.on_resync_needed("command", *self.ticket_state(conn)),
            central_now=central_now,  # commands are judged by central's time as known here (sync_agent.commands)
            on_central_time=on_central_time,
        )
        self.data_changed = False
        self._routes: dict[str, tuple[str, Callable[[Connection, bytes], str]]] = {
            self.venue.catalog: ("catalog", self._catalog),
            self.venue.tickets_snapshot: ("tickets_snapshot", self._snapshot),
            self.venue.tickets_delta: ("tickets_delta", self._delta),
            self.venue.revocations: ("revocations", self._revocations),
            self.venue.admissions: ("central_admissions", self._central_admissions),
            topics.cmd: ("command", self._command),
        }

    def kind_of(self, topic: str) -> str | None:
        if topic in self._routes:
            return self._routes[topic][0]
        where = split_device_topic(topic)
        if where and where[0] == self.topics.venue and where[2] == "admission":
            return "peer_admission"
        return None

    def handle(self, topic: str, payload: bytes) -> str:
        """Apply or reject `payload`; returns the outcome that was counted.

        Raises `StoreError` only when the store is busy (another writer holds the lock): then nothing happened."""
        kind = self.kind_of(topic) or "unknown_topic"
        now = self.clock()
        try:
            m.check_size(kind, payload)  # before the store is touched: refused even while it is busy
            with self.store.write() as conn:
                if kind == "peer_admission":
                    outcome = self._peer_admission(conn, topic, payload)
                elif kind in ("unknown_topic",):
                    raise Rejected("unknown_topic", topic)
                else:
                    outcome = self._routes[topic][1](conn, payload)
                count_inbound(conn, kind, outcome, now)
            return outcome
        except (Rejected, m.MessageError, SignatureError) as exc:
            reason = exc.reason
            detail = getattr(exc, "detail", "")
        except OverflowError:  # SQLite refused a number past its INTEGER where no schema bounds it (the catalog's)
            reason, detail = "schema", "a number too large to store"
        except StoreError as exc:
            if is_busy(exc):
                raise  # nothing was applied: the caller keeps the message and tries again later
            log.exception("inbound %s failed", kind)
            reason, detail = "error", "StoreError"
        except Exception as exc:  # a bug or a full disk must not stop the agent; the message is counted
            log.exception("inbound %s failed", kind)
            reason, detail = "error", type(exc).__name__
        self.reject(topic, reason, detail)
        return reason

    def reject(self, topic: str, reason: str, detail: str = "") -> None:
        """Count and log a message that is not applied; never raises (a counter is not worth a crash)."""
        kind = self.kind_of(topic) or ("ack" if topic == self.topics.ack else "unknown_topic")
        log.warning("rejected %s message on %s: %s %s", kind, topic, reason, detail)
        try:
            with self.store.write() as conn:
                count_inbound(conn, kind, reason, self.clock())
        except Exception:
            log.exception("could not count a rejected message")

    def open_signed(self, payload: bytes, model: type[m.M]) -> m.M:
        body = self.verifier.open(m.loads(payload))
        return m.parse(model, body)

    # ---- central → venue ----------------------------------------------------------------------------------

    def _mark_data(self, conn: Connection) -> None:
        set_state(conn, DATA_AT, self.clock().isoformat())
        self.data_changed = True

    def _catalog(self, conn: Connection, payload: bytes) -> str:
        msg = self.open_signed(payload, m.CatalogMessage)
        if msg.version <= int(get_state(conn, CATALOG_VERSION, "0")):
            return IGNORED_OLD
        catalog = catalog_from_doc(msg.catalog)
        repo.replace_catalog(conn, catalog)
        try:
            apply_device_keys(conn, msg.catalog.get("device_keys"))  # the doors' keys: peer admissions' signers
        except (KeyError, TypeError, ValueError) as exc:
            raise m.MessageError("schema", f"catalog.device_keys: {exc}"[:160]) from exc
        for name, apply in self.sections.items():  # later catalog parts (promotions, forms…), same transaction
            try:
                apply(conn, msg.catalog.get(name))
            except (KeyError, TypeError, ValueError) as exc:
                raise m.MessageError("schema", f"catalog.{name}: {exc}"[:160]) from exc
        set_state(conn, CATALOG_VERSION, str(msg.version))
        self._mark_data(conn)
        log.info("catalog %s (message version %d) applied", catalog.version, msg.version)
        return APPLIED

    def ticket_state(self, conn: Connection) -> tuple[int, int]:
        return int(get_state(conn, TICKETS_SNAPSHOT, "0")), int(get_state(conn, TICKETS_SEQ, "0"))

    def _snapshot(self, conn: Connection, payload: bytes) -> str:
        msg = self.open_signed(payload, m.TicketSnapshot)
        if (msg.snapshot_id, msg.seq) <= self.ticket_state(conn):
            return IGNORED_OLD
        records = [ticket_from_doc(d) for d in msg.tickets]
        repo.replace_list_tickets(conn, records)
        set_state(conn, TICKETS_SNAPSHOT, str(msg.snapshot_id))
        set_state(conn, TICKETS_SEQ, str(msg.seq))
        self._mark_data(conn)
        log.info("ticket list snapshot %d@%d applied: %d tickets", msg.snapshot_id, msg.seq, len(records))
        return APPLIED

    def _delta(self, conn: Connection, payload: bytes) -> str:
        msg = self.open_signed(payload, m.TicketDelta)
        snapshot, seq = self.ticket_state(conn)
        if msg.snapshot_id == snapshot and msg.seq <= seq:
            return IGNORED_OLD
        if msg.snapshot_id != snapshot or msg.seq != seq + 1:
            self.on_resync_needed("gap", snapshot, seq)
            raise Rejected("gap", f"have {snapshot}@{seq}, got {msg.snapshot_id}@{msg.seq}")
        repo.apply_ticket_delta(conn, [ticket_from_doc(d) for d in msg.upserts], msg.removed)
        set_state(conn, TICKETS_SEQ, str(msg.seq))
        self._mark_data(conn)
        return APPLIED

    def _revocations(self, conn: Connection, payload: bytes) -> str:
        msg = self.open_signed(payload, m.Revocations)
        if msg.version <= int(get_state(conn, REVOCATIONS_VERSION, "0")):
            return IGNORED_OLD
        for r in msg.revocations:
            m.check_instant(r.revoked_at)
        repo.replace_revocations(conn, [(r.ticket_id, r.reason, parse_instant(r.revoked_at)) for r in msg.revocations])
        set_state(conn, REVOCATIONS_VERSION, str(msg.version))
        self._mark_data(conn)
        return APPLIED

    def _central_admissions(self, conn: Connection, payload: bytes) -> str:
        msg = self.open_signed(payload, m.CentralAdmissions)
        for adm in msg.admissions:
            m.check_instant(adm.scanned_at)
        others = [a for a in msg.admissions if a.device_id != self.topics.device]
        if msg.admissions and not others:
            return "own"  # central re-published this door's own admissions: nothing from anyone else
        new = sum(insert_peer_checkin(conn, a) for a in others)
        return APPLIED if new else "duplicate"

    def _command(self, conn: Connection, payload: bytes) -> str:
        cmd = self.open_signed(payload, m.Command)
        try:
            outcome = self.commands.run(conn, cmd)
        except CommandRejected as exc:
            raise Rejected(exc.reason, exc.detail) from exc
        if cmd.name == "wipe" and outcome == APPLIED:
            self.data_changed = True  # the status row and presence must show the pending wipe at once
        return outcome

    # ---- venue peers --------------------------------------------------------------------------------------

    def _peer_admission(self, conn: Connection, topic: str, payload: bytes) -> str:
        where = split_device_topic(topic)
        assert where is not None
        sender = where[1]
        if sender == self.topics.device:
            return "own"
        msg = open_peer_message(conn, sender, payload)  # signed by the sender's key, else rejected and counted
        if msg.device_id != sender:
            raise Rejected("device_mismatch", f"topic {sender} carries {msg.device_id}")
        if isinstance(msg, m.PeerRequest):
            if msg.source != self.topics.device:
                return "not_mine"
            if self.on_peer_request is not None:
                self.on_peer_request(list(msg.ranges))
            return "served"
        if any(a.device_id != sender for a in msg.admissions):
            raise Rejected("device_mismatch", f"topic {sender} carries another device's admission")
        for adm in msg.admissions:
            m.check_instant(adm.scanned_at)
        new = sum(insert_peer_checkin(conn, adm) for adm in msg.admissions)
        record_numbers(conn, sender, msg, self.on_peer_gap)
        if not msg.admissions:
            return "cursor"
        return APPLIED if new else "duplicate"
