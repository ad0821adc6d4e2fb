"""Peer admissions between doors: signed with the device key, numbered per door, gaps asked for and filled.

Sending (`PeerSharing`, turned by the drain): new local check-ins get the next peer sequence numbers, are kept in
`peer_log` with the cursor in the same transaction, then published signed on the door's `admission` topic. The
door's cursor (its top number) is published retained on connect and every `cursor_interval`, so a door that
connects for the first time, or lost messages in a broker crash, learns what it lacks. A door asking for numbers
(`PeerRequest`) gets them published again from `peer_log`.

Receiving (`open_peer_message`, `apply_peer_admissions`): the message must be an envelope signed by the key the
catalog lists for the topic's device (`unsigned`, `unknown_device`, `unknown_key`, `bad_signature` otherwise:
counted and ignored); numbers held are recorded in `peer_seen`, and the missing ones are asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.adapters.store import peer_repository as peers
from kiosk.adapters.store import sync_repository as repo
from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.sync_repository import StoreConnection
from kiosk.domain.peer_admissions import missing_ranges
from sync_agent import messages as m
from sync_agent.guard import StoreGuard
from sync_agent.mqtt import Publisher
from sync_agent.outbound import new_admissions, outbox_top
from sync_agent.signing import SignatureError, Signer, Verifier
from sync_agent.timers import Deadline, Monotonic
from sync_agent.topics import DeviceTopics

log = logging.getLogger("kiosk.sync.peers")
PEER_SEQ = "peer_published_seq"
CHUNK = 500  # admissions per message (~130 KB): well under any inbound size bound
ASK_AGAIN = 2.0  # seconds before the same door is asked again for what is still missing
GapCallback = Callable[[str, list[tuple[int, int]]], None]
RequestCallback = Callable[[list[tuple[int, int]]], None]


class PeerSharing:
    """This door's side: share, announce the cursor, ask other doors for gaps, serve what they ask."""

    def __init__(
        self,
        store: Store,
        topics: DeviceTopics,
        publisher: Publisher,
        guard: StoreGuard,
        key: Ed25519PrivateKey | None,
        monotonic: Monotonic,
        *,
        peer_seq: int,
        cursor_interval: float = 3.0,
    ) -> None:
        self.store, self.topics, self.publisher, self.guard = store, topics, publisher, guard
        self.signer = Signer(key) if key is not None else None
        self.peer_seq = peer_seq  # outbox seq up to which check-ins were numbered and shared
        self._outbox_top = -1
        self.top: int | None = None  # highest peer number given out (read from the store on first use)
        self._cursor_due = Deadline(monotonic)
        self._cursor_interval = cursor_interval
        self._mono = monotonic
        self._wanted: dict[str, list[tuple[int, int]]] = {}
        self._asked_at: dict[str, float] = {}
        self._to_serve: list[tuple[int, int]] = []
        self.published = 0
        self._warned = False

    def connected(self) -> None:
        self._cursor_due.clear()  # announce the cursor right away on a new connection
        self._asked_at.clear()

    def want(self, source: str, ranges: list[tuple[int, int]]) -> None:
        self._wanted[source] = ranges

    def serve(self, ranges: list[tuple[int, int]]) -> None:
        self._to_serve = [*self._to_serve, *ranges][-64:]

    def pump(self) -> int:
        """One turn: share new check-ins, announce, ask, serve. Returns the number of admissions shared."""
        shared = self._share()
        if self.signer is None:
            return shared
        if self._cursor_due.due() and self._read_top() is not None:
            self._publish([], retain=True)
            self._cursor_due.after(self._cursor_interval)
        self._ask()
        self._serve_one()
        return shared

    # ---- sending ----------------------------------------------------------------------------------------------

    def _read_top(self) -> int | None:
        if self.top is None:

            def read() -> int:
                with self.store.read() as conn:
                    return peers.log_top(conn)

            self.top = self.guard.attempt("peer_top", read, writes=False)
        return self.top

    def _share(self) -> int:
        def read() -> tuple[list[m.PeerAdmission], int] | None:
            with self.store.read() as conn:
                top = outbox_top(conn)
                if top == self._outbox_top and top <= self.peer_seq:
                    return None
                self._outbox_top = top
                return new_admissions(conn, self.topics.device, self.peer_seq, CHUNK)

        found = self.guard.attempt("peers", read, writes=False)
        if found is None:
            return 0
        admissions, read_up_to = found
        if admissions and self.signer is None:
            if not self._warned:
                log.warning("no device key: admissions are not shared with the other doors")
                self._warned = True
            admissions = []
        if self._read_top() is None:
            self._outbox_top = -1
            return 0
        numbered = self.guard.attempt("peers", lambda: self._number(admissions, read_up_to))
        if numbered is None:
            self._outbox_top = -1  # busy: read again on a later turn
            return 0
        self.peer_seq = read_up_to
        if numbered:
            self.top = numbered[-1].pseq
            self._publish(numbered)
        return len(numbered)

    def _number(self, admissions: list[m.PeerAdmission], read_up_to: int) -> list[m.NumberedAdmission]:
        """Numbers after the log's top, the log rows and the outbox cursor: one transaction."""
        with self.store.write() as conn:
            base = peers.log_top(conn)
            numbered = [m.NumberedAdmission(**a.model_dump(), pseq=base + i + 1) for i, a in enumerate(admissions)]
            peers.append_log(conn, [(a.pseq, a.model_dump_json()) for a in numbered])
            repo.set_state(conn, PEER_SEQ, str(read_up_to))
        return numbered

    def _publish(self, admissions: list[m.NumberedAdmission], *, retain: bool = False) -> None:
        assert self.signer is not None
        body = m.PeerAdmissions(
            v=1, type="peer_admissions", device_id=self.topics.device, top=self.top or 0, admissions=admissions
        )
        envelope = self.signer.envelope(body.model_dump(mode="json"))
        self.publisher.publish(self.topics.admission, m.dumps(envelope), qos=1, retain=retain)
        self.published += len(admissions)

    def _ask(self) -> None:
        assert self.signer is not None
        now = self._mono()
        for source, ranges in list(self._wanted.items()):
            if now - self._asked_at.get(source, -1e9) < ASK_AGAIN:
                continue
            del self._wanted[source]
            self._asked_at[source] = now
            req = m.PeerRequest(v=1, type="peer_request", device_id=self.topics.device, source=source, ranges=ranges)
            signed = self.signer.envelope(req.model_dump(mode="json"))
            self.publisher.publish(self.topics.admission, m.dumps(signed), qos=1)
            log.info("asked %s for %d missing range(s) of admissions, first %s", source, len(ranges), ranges[0])

    def _serve_one(self) -> None:
        if not self._to_serve:
            return
        first, last = self._to_serve.pop(0)

        def read() -> list[str]:
            with self.store.read() as conn:
                return peers.log_range(conn, first, last, CHUNK)

        bodies = self.guard.attempt("peer_serve", read, writes=False)
        if bodies is None:
            self._to_serve.insert(0, (first, last))
            return
        admissions = [m.NumberedAdmission.model_validate_json(b) for b in bodies]
        if admissions:
            self._publish(admissions)
            served_to = admissions[-1].pseq
            if served_to < last:
                self._to_serve.insert(0, (served_to + 1, last))


# ---- receiving ------------------------------------------------------------------------------------------------


def apply_device_keys(conn: StoreConnection, section: Any) -> None:
    """The catalog's `device_keys` section (`[{device_id, public_key}]`, hex) becomes the doors' trusted keys.

    Absent: the keys held stay (a catalog from a central that does not list them yet)."""
    if section is None:
        return
    if not isinstance(section, list):
        raise ValueError("device_keys must be a list")
    keys = []
    for item in section:
        device, key = item["device_id"], item["public_key"]
        if not isinstance(device, str) or not isinstance(key, str) or len(bytes.fromhex(key)) != 32:
            raise ValueError("device_keys: a device id and a 32-byte hex key each")
        keys.append((device, key))
    peers.replace_peer_keys(conn, keys)


def open_peer_message(conn: StoreConnection, sender: str, payload: bytes) -> m.PeerAdmissions | m.PeerRequest:
    """The verified body of a door's message, signed by the key the catalog lists for `sender`."""
    data = m.loads(payload)
    if not isinstance(data, dict) or "sig" not in data or "body" not in data:
        raise SignatureError("unsigned")
    key = peers.peer_key(conn, sender)
    if key is None:
        raise SignatureError("unknown_device")
    body = Verifier([Ed25519PublicKey.from_public_bytes(bytes.fromhex(key))]).open(data)
    model: type[m.PeerAdmissions] | type[m.PeerRequest] = (
        m.PeerRequest if body.get("type") == "peer_request" else m.PeerAdmissions
    )
    return m.parse(model, body)


def record_numbers(conn: StoreConnection, sender: str, msg: m.PeerAdmissions, on_gap: GapCallback | None) -> None:
    """Note the numbers held from `sender` and its announced top; ask for what is missing up to it."""
    numbers = [a.pseq for a in msg.admissions]
    peers.mark_seen(conn, sender, numbers)
    top = peers.raise_top(conn, sender, max([msg.top, *numbers]))
    if on_gap is not None and top and peers.seen_count(conn, sender, top) < top:
        on_gap(sender, missing_ranges(peers.seen_numbers(conn, sender), top))
