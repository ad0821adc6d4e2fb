"""Payload schemas of the sync protocol (pydantic v2). Each payload carries `v`, its schema version.

Device → central payloads are plain JSON; central → device bodies travel inside a signed envelope
(`sync_agent.signing`) and name their `type`, so a signature made for one topic cannot be replayed on another.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.domain.errors import KioskError
from kiosk.domain.timeutil import parse_instant
from sync_agent import safe_json

PROTOCOL_VERSION = 1
MAX_BATCH = 2000
KIB, MIB = 1024, 1024 * 1024
MAX_TX_BYTES = 4 * MIB  # central refuses a larger tx message unparsed; the agent fills batches to half
# The most bytes a message may have, by kind (the agent's `sync_inbound_counters` kind, central's topic leaf):
# refused unparsed above it (`too_large`). Each is far above what its sender makes: an ack of a full batch with
# every event rejected is about 600 KB, central's re-published admissions of one batch 500 KB, a door's peer
# admissions 130 KB; a ticket snapshot holds the venue's whole list (about 300 bytes a ticket).
MAX_BYTES = {
    "tx": MAX_TX_BYTES,
    "resync": 64 * KIB,
    "ack": 2 * MIB,
    "command": 256 * KIB,
    "catalog": 16 * MIB,
    "tickets_snapshot": 48 * MIB,  # about 150,000 tickets; the shipped broker takes packets of up to 64 MiB
    "tickets_delta": 16 * MIB,
    "revocations": 16 * MIB,
    "central_admissions": 4 * MIB,
    "peer_admission": 2 * MIB,
}
MAX_MESSAGE_BYTES = max(MAX_BYTES.values())
M = TypeVar("M", bound=BaseModel)

Id = Annotated[str, Field(min_length=1, max_length=64)]
EventId = Annotated[str, Field(min_length=1, max_length=36)]
Kind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Instant = Annotated[str, Field(min_length=10, max_length=40)]
# Every integer fits SQLite's INTEGER: a bigger one would fail its transaction (OverflowError) instead of being
# refused as `schema` with the rest of the message.
INT_MAX = 2**63 - 1
Int = Annotated[int, Field(ge=-INT_MAX - 1, le=INT_MAX)]


class MessageError(KioskError):
    """A payload that is not valid JSON or does not match its schema; `reason` is a stable short code."""

    reason = "bad_message"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ---- device → central -------------------------------------------------------------------------------------


class TxEvent(_Msg):
    seq: int = Field(ge=1, le=INT_MAX)
    event_id: EventId
    kind: Kind
    occurred_at: Instant
    # Any JSON value, checked per event against its model (kiosk.domain.events), so one bad event is rejected, not
    # its batch: a string is a stored payload the device could not read as JSON (`malformed:payload`).
    payload: Any


class TxBatch(_Msg):
    v: Literal[1]
    batch_id: Id
    device_id: Id
    events: list[TxEvent] = Field(min_length=1, max_length=MAX_BATCH)
    sent_at: Instant | None = None  # the device's clock when it made the batch: central records its skew


class PeerAdmission(_Msg):
    """A movement recorded at one door, shared with the venue's other doors (and re-published by central).

    Between doors `scan_id` is the peer id (`kiosk.domain.peer_admissions.peer_id`), never the outbox event id."""

    v: Literal[1]
    scan_id: EventId
    ticket_id: Int
    performance_id: Int | None = None
    movement: Literal["entry", "reentry", "exit"]
    device_id: Id
    gate: Annotated[str, Field(min_length=1, max_length=64)]
    list_id: Int | None = None
    scanned_at: Instant


class NumberedAdmission(PeerAdmission):
    """A door's own admission as it publishes it: with its number in that door's peer sequence (1, 2, 3…)."""

    pseq: int = Field(ge=1, le=2**62)


class PeerAdmissions(_Msg):
    """Signed by the sending door's device key, on its own `admission` topic: admissions and its cursor.

    `top` is the highest peer sequence number the door gave out; with no admissions the message is the door's
    retained cursor, so a door connecting for the first time learns what to ask for."""

    v: Literal[1]
    type: Literal["peer_admissions"]
    device_id: Id
    top: int = Field(ge=0, le=2**62)
    admissions: list[NumberedAdmission] = Field(default=[], max_length=MAX_BATCH)


class PeerRequest(_Msg):
    """Signed by the asking door, on its own `admission` topic: "door `source`, publish these numbers again"."""

    v: Literal[1]
    type: Literal["peer_request"]
    device_id: Id
    source: Id
    ranges: list[tuple[Annotated[int, Field(ge=1, le=2**62)], Annotated[int, Field(ge=1, le=2**62)]]] = Field(
        min_length=1, max_length=32
    )


class DeviceStatus(_Msg):
    v: Literal[1]
    device_id: Id
    online: bool
    at: Instant
    pending: int = 0
    oldest_pending_age_s: float | None = None
    last_ack_at: Instant | None = None
    dead_letters: int = 0
    data_age_s: float | None = None
    catalog_version: str = ""
    health: dict[str, Any] = {}  # printer queue and last printer status (see sync_agent.status.device_health)


class ResyncRequest(_Msg):
    v: Literal[1]
    device_id: Id
    reason: str
    snapshot_id: Int = 0
    seq: Int = 0


# ---- central → device (signed bodies) ---------------------------------------------------------------------


class Rejection(_Msg):
    event_id: EventId
    reason: Annotated[str, Field(max_length=200)]


class Ack(_Msg):
    v: Literal[1]
    type: Literal["ack"]
    device_id: Id
    batch_id: Id
    acked: list[EventId]
    rejected: list[Rejection] = []
    # Central's commit time; optional so acks of older centrals still validate. The device records it (see
    # firmware_config.clock) for the self-test's clock check; an unparseable value is ignored, the ack applied.
    at: Instant | None = None


class CatalogMessage(_Msg):
    v: Literal[1]
    type: Literal["catalog"]
    version: int = Field(ge=1, le=INT_MAX)  # monotonic; a device ignores any version not newer than the one it holds
    catalog: dict[str, Any]


class TicketDoc(_Msg):
    ticket_id: Int
    event_id: Int
    tariff_id: Int
    performance_id: Int | None = None
    pass_id: Int | None = None
    code: Annotated[str, Field(max_length=200)] | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    entries_allowed: int = Field(default=1, ge=0, le=INT_MAX)
    holder_name: Annotated[str, Field(max_length=200)] | None = None
    status: Literal["valid", "cancelled"] = "valid"
    order_ref: Annotated[str, Field(max_length=64)] | None = None


class TicketSnapshot(_Msg):
    v: Literal[1]
    type: Literal["tickets_snapshot"]
    snapshot_id: int = Field(ge=1, le=INT_MAX)
    seq: int = Field(ge=0, le=INT_MAX)  # the last delta folded into this snapshot
    tickets: list[TicketDoc]


class TicketDelta(_Msg):
    v: Literal[1]
    type: Literal["tickets_delta"]
    snapshot_id: int = Field(ge=1, le=INT_MAX)
    seq: int = Field(ge=1, le=INT_MAX)
    upserts: list[TicketDoc] = []
    removed: list[Int] = []


class RevocationDoc(_Msg):
    ticket_id: Int
    reason: Annotated[str, Field(max_length=200)] = ""
    revoked_at: Instant


class Revocations(_Msg):
    v: Literal[1]
    type: Literal["revocations"]
    version: int = Field(ge=1, le=INT_MAX)
    revocations: list[RevocationDoc]


class CentralAdmissions(_Msg):
    v: Literal[1]
    type: Literal["admissions"]
    admissions: list[PeerAdmission]


class Command(_Msg):
    v: Literal[1]
    type: Literal["command"]
    command_id: EventId
    device_id: Id
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    args: dict[str, Any] = {}
    issued_at: Instant


def check_size(kind: str, raw: bytes) -> None:
    """`too_large` when `raw` is over its kind's bound (`MAX_BYTES`): checked before anything is parsed."""
    bound = MAX_BYTES.get(kind, MAX_MESSAGE_BYTES)
    if len(raw) > bound:
        raise MessageError("too_large", f"{len(raw)} bytes, at most {bound}")


def loads(raw: bytes, kind: str | None = None) -> Any:
    """A message's JSON, bounded (`sync_agent.safe_json`): `too_large` over its kind's bytes, `too_deep` nested
    deeper than any message, `malformed_json` for anything else that is not strict UTF-8 JSON (NaN too)."""
    try:
        return safe_json.loads(raw, max_bytes=MAX_BYTES.get(kind or "", MAX_MESSAGE_BYTES))
    except safe_json.JsonRefused as exc:
        raise MessageError(exc.reason, exc.detail) from exc


def parse(model: type[M], data: Any) -> M:
    """`data` validated as `model`; a wrong or missing `v` is reported as `unsupported_version`."""
    if isinstance(data, dict) and data.get("v") != PROTOCOL_VERSION:
        raise MessageError("unsupported_version", f"v={data.get('v')!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise MessageError("schema", f"{where}: {first.get('msg', '')}"[:160]) from exc


def check_instant(text: str) -> None:
    try:
        parse_instant(text)
    except ValueError as exc:
        raise MessageError("schema", f"not an ISO instant: {text[:40]!r}") from exc


def dumps(obj: BaseModel | dict[str, Any]) -> bytes:
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
