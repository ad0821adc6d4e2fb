"""MQTT topic names of the sync protocol (version 1); `docs/protocol.md` is the contract they implement."""

from __future__ import annotations

from dataclasses import dataclass

ROOT = "kiosk/v1"
SHARE_GROUP = "central"


def _check(part: str, what: str) -> str:
    if not part or any(c in part for c in "/+#\0") or len(part) > 64:
        raise ValueError(f"invalid {what} {part!r}: 1-64 characters, no '/', '+', '#'")
    return part


@dataclass(frozen=True)
class DeviceTopics:
    """The topics one device uses in its venue."""

    venue: str
    device: str

    def __post_init__(self) -> None:
        _check(self.venue, "venue id")
        _check(self.device, "device id")

    @property
    def base(self) -> str:
        return f"{ROOT}/{self.venue}/{self.device}"

    @property
    def tx(self) -> str:
        return f"{self.base}/tx"

    @property
    def ack(self) -> str:
        return f"{self.base}/ack"

    @property
    def cmd(self) -> str:
        return f"{self.base}/cmd"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def admission(self) -> str:
        return f"{self.base}/admission"

    @property
    def resync(self) -> str:
        return f"{self.base}/resync"

    @property
    def venue_topics(self) -> VenueTopics:
        return VenueTopics(self.venue)


@dataclass(frozen=True)
class VenueTopics:
    """Topics central publishes for every device of a venue, and the peer-admission wildcard."""

    venue: str

    @property
    def catalog(self) -> str:
        return f"{ROOT}/{self.venue}/catalog"

    @property
    def tickets_snapshot(self) -> str:
        return f"{ROOT}/{self.venue}/tickets/snapshot"

    @property
    def tickets_delta(self) -> str:
        return f"{ROOT}/{self.venue}/tickets/delta"

    @property
    def revocations(self) -> str:
        return f"{ROOT}/{self.venue}/revocations"

    @property
    def admissions(self) -> str:
        """Admissions re-published by central (reach doors on other brokers through the bridge)."""
        return f"{ROOT}/{self.venue}/admissions"

    @property
    def peer_admissions(self) -> str:
        """Subscription for admissions published by the venue's doors themselves."""
        return f"{ROOT}/{self.venue}/+/admission"


# Central's subscriptions: MQTT v5 shared subscriptions so several instances split the load.
CENTRAL_TX = f"$share/{SHARE_GROUP}/{ROOT}/+/+/tx"
CENTRAL_RESYNC = f"$share/{SHARE_GROUP}/{ROOT}/+/+/resync"


def split_device_topic(topic: str) -> tuple[str, str, str] | None:
    """`kiosk/v1/{venue}/{device}/{leaf}` → (venue, device, leaf); None for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT:
        return None
    return parts[2], parts[3], parts[4]
