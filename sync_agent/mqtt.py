"""Building paho-mqtt 2.x clients (MQTT v5) from a broker URL, credentials and TLS settings."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# A device's session (its subscriptions and the QoS 1 messages queued for it) outlives a week-long outage.
SESSION_EXPIRY_S = 7 * 24 * 3600
_paho_log = logging.getLogger("kiosk.mqtt")


class Publisher(Protocol):
    """What the agent's parts need of the MQTT client (paho's `Client` is one; unit tests pass a fake)."""

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> Any: ...


@dataclass(frozen=True)
class BrokerSettings:
    host: str
    port: int
    tls: bool = False
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    client_cert: Path | None = None  # mutual TLS (with client_key)
    client_key: Path | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        username: str | None = None,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        keepalive: int = 30,
        client_cert: Path | None = None,
        client_key: Path | None = None,
    ) -> BrokerSettings:
        """`mqtt://host:port` or `mqtts://host:port` (TLS); a CA file also turns TLS on."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker URL {url!r}: expected mqtt://HOST:PORT or mqtts://HOST:PORT")
        tls = parts.scheme == "mqtts" or ca_file is not None or client_cert is not None
        if (client_cert is None) != (client_key is None):
            raise ValueError("a client certificate needs its key, and the key its certificate")
        password = None
        if password_file is not None:
            mode = password_file.stat().st_mode & 0o077
            if mode:
                raise PermissionError(f"{password_file}: readable by others (mode {oct(mode)}); chmod 600 it")
            password = password_file.read_text().strip()
        return cls(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            tls,
            ca_file,
            username or parts.username,
            password or parts.password,
            keepalive,
            client_cert,
            client_key,
        )


def make_client(client_id: str, broker: BrokerSettings) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        ctx = ssl.create_default_context(cafile=str(broker.ca_file) if broker.ca_file else None)
        if broker.client_cert and broker.client_key:
            ctx.load_cert_chain(str(broker.client_cert), str(broker.client_key))
        client.tls_set_context(ctx)
    # A second belt under callbacks that catch everything themselves: an exception paho would re-raise out of
    # its loop (killing the agent, the message unacknowledged and so delivered again) is logged instead.
    client.suppress_exceptions = True
    client.enable_logger(_paho_log)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    return client


def session_properties(expiry_s: int = SESSION_EXPIRY_S) -> Properties:
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = expiry_s
    return props
