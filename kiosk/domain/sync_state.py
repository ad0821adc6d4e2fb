"""What the sync agent last wrote about itself in the device store (its `sync_status` row), as a value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AgentSyncState:
    online: bool
    dead_letters: int
    catalog_version: str
    data_at: datetime | None
    text: str
