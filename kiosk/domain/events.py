"""Outbox event payloads, one pydantic model per kind: the device builds them, central validates them (schema v1).

A payload travels as the `payload` of a `TxEvent` whose `kind` names its model; the `kind` is not repeated inside
the payload (the wire format of docs/protocol.md), so a model's `kind` field is excluded from its dump and filled in
from the envelope when central validates. Every field is bounded (central stores what it accepts), no field may be
added by a sender (`extra="forbid"`) and no value is coerced (`strict`: "7" is not a ticket id, `true` not a count).

Adding a kind: one `EventPayload` subclass with a `kind: Literal[...]` and its `ID_FIELD`, listed in `Event`.
Central must know a kind (or field) before devices send it: it is upgraded first; until then it rejects the event
and the device keeps it in its dead letters, to be requeued.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from kiosk.domain.errors import KioskError
from kiosk.domain.sales import MAX_PER_SALE
from kiosk.domain.scan_input import DIGEST_CHARS, MAX_CODE_CHARS
from kiosk.domain.timeutil import parse_instant

SCHEMA_VERSION = 1
MAX_ENTRIES = 65_535  # a ticket's entries per performance (devices hold 1-255); fits central's column
MAX_DB_ID = 2**63 - 1  # ids are BIGINT at central


def _instant(text: str) -> str:
    parse_instant(text)  # ValueError: reported as this field's error
    return text


Instant = Annotated[str, Field(min_length=10, max_length=40), AfterValidator(_instant)]
DeviceId = Annotated[str, Field(min_length=1, max_length=64)]
EventId = Annotated[str, Field(min_length=1, max_length=36)]
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]  # verdicts, states: stable snake_case names
DbId = Annotated[int, Field(ge=0, le=MAX_DB_ID)]
Money = Annotated[str, Field(pattern=r"^-?[0-9]{1,9}(\.[0-9]{1,4})?$")]  # a decimal as text, never a float
Note = Annotated[str, Field(max_length=200)]


class EventRejected(KioskError):
    """A payload central will not store; `reason` is the stable code sent back in the ack."""

    reason = "event_rejected"  # always replaced by the precise code when raised


class EventPayload(BaseModel):
    """What every payload holds; `ID_FIELD` names the field that must equal the outbox event id."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, validate_by_name=True)
    ID_FIELD: ClassVar[str]

    kind: str = Field(exclude=True)
    v: Literal[1] = 1  # SCHEMA_VERSION
    device_id: DeviceId

    def payload(self) -> dict[str, Any]:
        """The JSON-ready payload as stored in the outbox and sent (without `kind`)."""
        return self.model_dump(mode="json", by_alias=True)


class _Scan(EventPayload):
    ID_FIELD = "scan_id"

    scan_id: EventId
    gate: Annotated[str, Field(min_length=1, max_length=64)]
    # Older devices did not send these three; central accepted their events, and still does.
    list_id: DbId | None = None
    direction: Literal["entry", "exit"] | None = None
    detail: Note = ""
    verdict: Code
    ticket_id: DbId | None = None
    performance_id: DbId | None = None
    scanned_at: Instant


class Checkin(_Scan):
    """An admission, re-entry or exit recorded at a door."""

    kind: Literal["checkin"] = Field(default="checkin", exclude=True)
    ticket_id: DbId
    movement: Literal["entry", "reentry", "exit"]
    # Central tells a group ticket's second entry from a double admission by it; absent (older devices) = 1.
    entries_allowed: Annotated[int, Field(ge=1, le=MAX_ENTRIES)] = 1


class FirstUse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    at: Instant
    device_id: DeviceId
    gate: Annotated[str, Field(min_length=1, max_length=64)]


# Older devices sent up to 64 printable characters of any read; central still accepts (and keeps) those events.
OLD_PREFIX_CHARS = 64


class FailedScan(_Scan):
    """A refused scan: the verdict and a non-identifying trace of what was read (scan_input.ScanTrace)."""

    kind: Literal["failed_scan"] = Field(default="failed_scan", exclude=True)
    # Now at most 4 characters, and only of a ticket-like read; older devices sent more (see OLD_PREFIX_CHARS).
    text_prefix: Annotated[str, Field(max_length=OLD_PREFIX_CHARS)] = ""
    # Absent from older devices' events.
    text_length: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    text_hash: Annotated[str, Field(pattern=rf"^[0-9a-f]{{{DIGEST_CHARS}}}$")] | None = None
    symbology: Code | None = None
    first_use: FirstUse | None = None


class SalePayment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    method: Literal["cash", "card", "free"]
    total: Money
    due: Money
    rounding: Money
    tendered: Money
    change: Money
    card_reference: Annotated[str, Field(max_length=32)] = ""


class SaleLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    tariff_id: DbId
    quantity: Annotated[int, Field(ge=0, le=MAX_PER_SALE)]
    unit_price: Money


class SaleTicket(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    ticket_id: DbId
    code: Annotated[str, Field(min_length=1, max_length=MAX_CODE_CHARS)]
    tariff_id: DbId
    key_id: DbId


class Sale(EventPayload):
    """A walk-up sale: the order, its payment, lines and the signed tickets made for it."""

    ID_FIELD = "order_id"
    kind: Literal["sale"] = Field(default="sale", exclude=True)
    order_id: EventId
    order_ref: Annotated[str, Field(min_length=1, max_length=16)]
    event_id: DbId  # the catalog's event (show), not the outbox event
    performance_id: DbId
    sold_at: Instant
    payment: SalePayment
    lines: Annotated[list[SaleLine], Field(min_length=1, max_length=MAX_PER_SALE)]
    tickets: Annotated[list[SaleTicket], Field(max_length=MAX_PER_SALE)]


class Reprint(EventPayload):
    """A deliberate new copy of a ticket label ("Reprint N")."""

    ID_FIELD = "job_id"
    kind: Literal["reprint"] = Field(default="reprint", exclude=True)
    job_id: EventId
    reprint_of: EventId
    ticket_id: DbId
    # `copy` would shadow BaseModel.copy: the attribute has another name, the wire keeps "copy".
    copy_number: Annotated[int, Field(ge=2, le=10_000, alias="copy")]
    reason: Note = ""
    original_state: Code
    reprinted_at: Instant


Event = Checkin | FailedScan | Sale | Reprint  # a new kind is one model class, listed here
AnyEvent = Annotated[Event, Field(discriminator="kind")]
_EVENTS: TypeAdapter[Event] = TypeAdapter(AnyEvent)
MODELS: dict[str, type[EventPayload]] = {m.model_fields["kind"].default: m for m in get_args(get_args(AnyEvent)[0])}
KINDS = frozenset(MODELS)


def parse_event(kind: str, event_id: str, payload: Any) -> Event:
    """The payload of an outbox event as its model; raises EventRejected with a stable reason code."""
    if not isinstance(payload, dict):
        raise EventRejected("payload is not an object", reason="malformed:payload")
    version = payload.get("v")
    if type(version) is not int or version != SCHEMA_VERSION:  # `true` == 1 in Python, not on the wire
        raise EventRejected(f"v={str(payload.get('v'))[:20]}", reason="unsupported_version")
    if kind not in KINDS:
        raise EventRejected(f"kind {kind[:32]!r}", reason="unknown_kind")
    if "kind" in payload:  # the envelope names the kind; a payload may not say otherwise
        raise EventRejected("kind inside the payload", reason="unknown_field")
    try:
        event = _EVENTS.validate_python({**payload, "kind": kind})
    except ValidationError as exc:
        raise EventRejected(str(exc.errors()[0].get("msg", ""))[:120], reason=_reason(exc)) from exc
    if getattr(event, event.ID_FIELD) != event_id:
        raise EventRejected(f"{event.ID_FIELD} is not the event id", reason=f"malformed:{event.ID_FIELD}")
    return event


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    if first["type"] == "extra_forbidden":
        return "unknown_field"  # not the name itself: reasons stay a small, stable set
    loc = first.get("loc", ())
    field = loc[1] if len(loc) > 1 else "payload"  # loc[0] is the kind (the union's tag)
    return f"malformed:{field}"
