"""Central's check of one device event: its envelope against the batch, its payload against its model.

The payload models live in `kiosk.domain.events` (the one definition the device builds with); this adds what
only central can check: that the event is the sending device's, and that its envelope time is an instant.
"""

from __future__ import annotations

from kiosk.domain.events import Event, EventRejected, parse_event
from sync_agent.messages import MessageError, TxEvent, check_instant


def check_event(ev: TxEvent, device_id: str) -> Event:
    """The event's payload model, or EventRejected with the short stable reason sent back in the ack."""
    p = ev.payload
    if isinstance(p, dict):
        if p.get("v") == 1 and "device_id" in p and p["device_id"] != device_id:
            raise EventRejected("not the sending device's event", reason="device_mismatch")
        try:
            check_instant(ev.occurred_at)
        except MessageError as exc:
            raise EventRejected(exc.detail, reason="malformed:occurred_at") from exc
    return parse_event(ev.kind, ev.event_id, p)
