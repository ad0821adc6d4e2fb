"""The agent's state in the device store: the status row the UI reads, inbound counters, key/value state.

The SQL lives in `kiosk.adapters.store.sync_repository`; these names stay here for the agent's callers. The UI
reads the row with `kiosk.adapters.store.sync_tables.read_status` (no dependency on this package)."""

from __future__ import annotations

from kiosk.adapters.store.sync_repository import (
    SyncStatus,
    count_inbound,
    device_health,
    get_state,
    inbound_counts,
    read_status,
    set_state,
    write_status,
)

__all__ = [
    "SyncStatus",
    "count_inbound",
    "device_health",
    "get_state",
    "inbound_counts",
    "read_status",
    "set_state",
    "write_status",
]
