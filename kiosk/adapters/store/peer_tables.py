"""Device-side tables of peer admissions: the doors' public keys, this door's numbered log, what it got from peers.

`peer_keys` comes from the catalog's `device_keys` section (central lists each device's public key);
`peer_log` keeps every admission this door published under its peer sequence, so it can publish a range again
when another door asks; `peer_seen` and `peer_tops` tell which numbers of each other door are held and the
highest that door announced, so the gaps can be asked for.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from kiosk.adapters.store.tables import metadata

peer_keys = Table(
    "peer_keys",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("public_key", String(64), nullable=False),  # hex of the 32 raw Ed25519 bytes
)

peer_log = Table(
    "peer_log",
    metadata,
    Column("pseq", Integer, primary_key=True, autoincrement=False),
    Column("body", Text, nullable=False),  # the PeerAdmission as published (JSON)
)

peer_seen = Table(
    "peer_seen",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("pseq", Integer, primary_key=True, autoincrement=False),
)

peer_tops = Table(
    "peer_tops",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("top", Integer, nullable=False),
)
