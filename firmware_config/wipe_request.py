"""A wipe central asked for, waiting in the device store until a technician confirms it with `kiosk-provision wipe`.

The sync agent records it (`record_wipe_request`, in the signed command's transaction) and erases nothing
itself: a signed command alone, replayed or sent by mistake, must never blank a device in service. The request
and the nonces already used live in the store's `sync_state`, so the wipe that honours a request erases them too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from kiosk.adapters.store.sync_repository import StoreConnection, get_state, set_state

WIPE_REQUEST = "wipe_request"  # sync_state key: the pending request (JSON)
_NONCE = "wipe_nonce:"  # sync_state key prefix: a nonce already used, and the command that used it


@dataclass(frozen=True)
class WipeRequest:
    command_id: str
    device_id: str
    nonce: str
    issued_at: str  # central's, as signed
    received_at: str  # the device's clock when the agent recorded it

    def describe(self) -> str:
        return (
            f"central asked to wipe device {self.device_id}: command {self.command_id}, nonce {self.nonce}, "
            f"issued {self.issued_at}, received {self.received_at}"
        )


def pending_wipe(conn: StoreConnection) -> WipeRequest | None:
    text = get_state(conn, WIPE_REQUEST)
    if not text:
        return None
    try:
        return WipeRequest(**json.loads(text))
    except (TypeError, ValueError):  # written by this module only; a damaged value still means "asked"
        return WipeRequest("?", "?", "?", "?", "?")


def nonce_used_by(conn: StoreConnection, nonce: str) -> str | None:
    """The command id that already carried `nonce`, or None."""
    return get_state(conn, _NONCE + nonce) or None


def record_wipe_request(conn: StoreConnection, request: WipeRequest) -> None:
    set_state(conn, _NONCE + request.nonce, request.command_id)
    set_state(conn, WIPE_REQUEST, json.dumps(asdict(request), sort_keys=True))


def read_pending_wipe(database: Path) -> WipeRequest | None:
    """The pending request in the store at `database` (None without a store, a request or the sync tables)."""
    if not database.exists():
        return None
    from kiosk.adapters.store.engine import open_store

    try:
        store = open_store(database, migrate=False)
    except Exception:  # an unreadable store is the database check's and the wipe's to report
        return None
    try:
        with store.read() as conn:
            return pending_wipe(conn)
    except Exception:
        return None
    finally:
        store.close()
