"""Central's tables (SQLAlchemy Core; SQLite or PostgreSQL). The schema is made by the Alembic revisions in
`sync_agent/central/migrations` (applied at start): change a table here and add a revision there."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

# Every accepted event, once: the primary key on event_id is what makes the effect exactly-once.
events = Table(
    "central_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("venue", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
    # Set when the device's clock was off by more than 5 minutes at receipt (seconds, device − central): the
    # event keeps the device's times as given, flagged. Revision 0002.
    Column("clock_skew_s", Integer, nullable=True),
    Index("ix_central_events_device", "device_id", "seq"),
)

admissions = Table(
    "central_admissions",
    metadata,
    Column("scan_id", String(36), primary_key=True),
    Column("venue", String(64), nullable=False),
    Column("ticket_id", BigInteger, nullable=False),
    Column("performance_id", BigInteger, nullable=True),
    Column("movement", String(16), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("gate", String(64), nullable=False),
    Column("scanned_at", String(40), nullable=False),
    # The ticket's entries per performance as the device knew it (payload `entries_allowed`); NULL = 1 (older
    # events did not carry it). Added after the first release; migration 0001 adds it to such databases.
    Column("entries_allowed", Integer, nullable=True),
    Index("ix_central_admissions_ticket", "venue", "ticket_id", "performance_id"),
)

incidents = Table(
    "central_incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("venue", String(64), nullable=False),
    Column("kind", String(32), nullable=False),  # "double_admission"
    Column("ticket_id", BigInteger, nullable=False),
    Column("performance_id", BigInteger, nullable=True),
    Column("first_scan_id", String(36), nullable=False),
    Column("first_device", String(64), nullable=False),
    Column("first_gate", String(64), nullable=False),
    Column("first_at", String(40), nullable=False),
    Column("second_scan_id", String(36), nullable=False),
    Column("second_device", String(64), nullable=False),
    Column("second_gate", String(64), nullable=False),
    Column("second_at", String(40), nullable=False),
    Column("detected_at", String(40), nullable=False),
    UniqueConstraint("first_scan_id", "second_scan_id", name="uq_central_incidents_pair"),
    Index("ix_central_incidents_ticket", "venue", "ticket_id", "performance_id"),
)

rejections = Table(
    "central_rejections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("venue", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("at", String(40), nullable=False),
)

# One row per received batch: ack_sent_at is set when the broker confirmed our ack (pending acks = NULL).
batches = Table(
    "central_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("venue", String(64), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("events", Integer, nullable=False),
    Column("new_events", Integer, nullable=False),
    Column("committed_at", String(40), nullable=False),
    Column("ack_sent_at", String(40), nullable=True),
)

# Versions of what central published per venue: catalog, revocations, ticket list snapshot id and delta seq.
published = Table(
    "central_published",
    metadata,
    Column("venue", String(64), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False, server_default="0"),
)

# The venue's current ticket list (snapshot with deltas folded in), to answer resync requests.
tickets = Table(
    "central_tickets",
    metadata,
    Column("venue", String(64), primary_key=True),
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("doc", Text, nullable=False),
)

# The last signed-retained bodies central published per venue topic (catalog, revocations): re-signed and
# re-published when central connects, so a broker that lost its retained store (a new broker, a crash in
# mosquitto's save window) is refilled. Ticket snapshots are rebuilt from central_tickets instead.
retained = Table(
    "central_retained",
    metadata,
    Column("venue", String(64), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("body", Text, nullable=False),
)

# The device registry (`kiosk-central devices add`): each device's venue and role, which bounds what it may record
# (door: scans; sales: sales and reprints; both). A venue with no registered device runs open (see validate.py).
devices = Table(
    "central_devices",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("venue", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("public_key", String(64), nullable=True),  # hex Ed25519 key of the device's identity, when known
    Column("added_at", String(40), nullable=False),
)

# Event ids another device already holds, or repeats with other content: rejected, never acked, listed here.
conflicts = Table(
    "central_conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("venue", String(64), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reason", String(32), nullable=False),  # id_taken | conflicting_repeat
    Column("owner_device", String(64), nullable=False),  # the device that first sent the id
    Column("device_id", String(64), nullable=False),  # the device whose repeat was rejected
    Column("at", String(40), nullable=False),
)

# Each device's clock against central's, from its last batch: skew_s = device time − central's time at receipt.
clocks = Table(
    "central_device_clocks",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("venue", String(64), nullable=False),
    Column("skew_s", Float, nullable=False),
    Column("device_at", String(40), nullable=False),
    Column("central_at", String(40), nullable=False),
)

# Per central instance (its MQTT client id): the database busy episodes it sat out, holding and retrying batches
# (`sync_agent/central/busy.py`), written when each ended. Revision 0003.
health = Table(
    "central_health",
    metadata,
    Column("instance", String(64), primary_key=True),
    Column("busy_episodes", Integer, nullable=False),
    Column("busy_retries", Integer, nullable=False),
    Column("busy_let_go", Integer, nullable=False),  # held batches given up (unacked: their devices resent them)
    Column("last_busy_since", String(40), nullable=True),
    Column("last_busy_s", Float, nullable=True),
    Column("updated_at", String(40), nullable=False),
)
