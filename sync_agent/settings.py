"""The agent's settings and counters, shared by its parts (drain, appliers, presence, pruning)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sync_agent.mqtt import BrokerSettings
from sync_agent.prune import DEFAULT_RETENTION


@dataclass(frozen=True)
class AgentSettings:
    venue: str
    device: str
    broker: BrokerSettings
    batch_size: int = 500
    window: int = 4  # batches in flight before waiting for acks
    ack_timeout: float = 10.0
    status_interval: float = 1.0  # at most one status-row write per interval when something changed
    status_heartbeat: float = 15.0  # and one at least this often (updated_at tells the UI the agent is alive)
    status_publish_interval: float = 10.0
    resync_interval: float = 5.0
    peer_cursor_interval: float = 3.0  # seconds between two retained announcements of this door's peer cursor
    backoff_base: float = 0.2
    backoff_cap: float = 30.0
    outbox_retention: timedelta = DEFAULT_RETENTION  # synced outbox rows older than this are deleted
    prune_interval: float = 300.0  # seconds between pruning rounds once nothing old is left
    # Where firmware_config keeps the last time seen from central (the self-test's clock check); None: not kept.
    state_dir: Path | None = None
    central_time_interval: float = 60.0  # at most one write (it fsyncs) of central's time per interval
    # How long one store access waits for another writer's lock before it is retried later with backoff: the
    # loop (MQTT, watchdog pings, presence) never stalls for longer behind a busy store.
    store_wait: float = 1.0
    store_retry_cap: float = 5.0  # the longest pause between two tries of a store access that found it busy


@dataclass
class AgentCounters:
    batches_sent: int = 0
    events_sent: int = 0
    resends: int = 0
    acks: int = 0
    acked_events: int = 0
    dead_letters: int = 0
    connects: int = 0
    peer_published: int = 0
    pruned: int = 0
    store_busy: int = 0  # store accesses that found another writer holding the lock (each retried)
    loop_errors: int = 0  # loop turns that failed on an unexpected error (logged; the loop backed off and went on)
    extra: dict[str, int] = field(default_factory=dict)
