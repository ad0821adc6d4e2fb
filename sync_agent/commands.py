"""Signed commands on a device: a time window around central's time, once per command id, the built-in names.

A command is judged by central's time as the device knows it: the device clock, or when later the newest verified
time from central plus the time elapsed since (`CentralTime.now`, a lower bound of central's clock: so an RTC
that lost power does not refuse fresh commands, and a replayed old message cannot pull the time back). Older
than `COMMAND_MAX_AGE` → `expired`, more than `COMMAND_MAX_AHEAD` ahead → `future_command` (a command signed with
a date far ahead would otherwise stay valid for replay for years). `wipe` only records a request
(`firmware_config.wipe_request`) that a technician confirms on the device with `kiosk-provision wipe`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from firmware_config.wipe_request import WipeRequest, nonce_used_by, record_wipe_request
from kiosk.adapters.store import sync_inbound_repository as repo
from kiosk.adapters.store.sync_repository import StoreConnection as Connection
from kiosk.domain.clock import Clock
from kiosk.domain.errors import KioskError
from kiosk.domain.timeutil import iso, parse_instant
from sync_agent import messages as m

log = logging.getLogger("kiosk.sync.inbound")

# Runs a signed command another feature owns (e.g. "allocation_grant") in the command's transaction and returns a
# short result; raises ValueError for bad arguments (the command is then rejected, nothing applied).
CommandHandler = Callable[[Connection, Mapping[str, Any]], str]

COMMAND_MAX_AGE = timedelta(days=1)
# Central stamps a command just before sending it; more than a few minutes ahead of its known time is not a clock.
COMMAND_MAX_AHEAD = timedelta(minutes=5)
WIPE_NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
APPLIED = "applied"


class CommandRejected(KioskError):
    reason = "rejected"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason, self.detail = reason, detail[:160]


def window_reason(issued: datetime, central_now: datetime) -> str | None:
    """None when `issued` lies in the window around `central_now`, else the rejection reason."""
    if central_now - issued > COMMAND_MAX_AGE:
        return "expired"
    if issued - central_now > COMMAND_MAX_AHEAD:
        return "future_command"
    return None


class CommandRunner:
    """Runs one verified `Command` inside the inbound message's transaction; `wipe_request` is the pending wipe."""

    def __init__(
        self,
        device: str,
        clock: Clock,
        handlers: Mapping[str, CommandHandler],
        on_resync: Callable[[Connection], None],
        *,
        central_now: Callable[[], datetime | None] | None = None,
        on_central_time: Callable[[datetime], None] | None = None,
    ) -> None:
        self.device, self.clock, self.handlers, self.on_resync = device, clock, dict(handlers), on_resync
        self.central_now, self.on_central_time = central_now, on_central_time
        self.wipe_request: WipeRequest | None = None  # set by the agent from the store at start, then by `wipe`

    def run(self, conn: Connection, cmd: m.Command) -> str:
        if cmd.device_id != self.device:
            raise CommandRejected("wrong_device", cmd.device_id)
        issued = _instant(cmd.issued_at)
        if issued is None:
            raise CommandRejected("expired", cmd.issued_at)
        known = self.central_now() if self.central_now is not None else None
        reason = window_reason(issued, max(self.clock(), known) if known else self.clock())
        # A command from the future must not drag central's known time forward; an old one is a (harmless) lower
        # bound of it.
        if reason != "future_command" and self.on_central_time is not None:
            self.on_central_time(issued)
        if reason is not None:
            raise CommandRejected(reason, f"issued {cmd.issued_at}, central's time {iso(known) if known else '?'}")
        if repo.command_seen(conn, cmd.command_id):
            return "duplicate"
        result = self._run(conn, cmd)
        repo.record_command(conn, cmd.command_id, cmd.name, result, self.clock())
        log.info("command %s (%s) applied: %s", cmd.name, cmd.command_id, result)
        return APPLIED

    def _run(self, conn: Connection, cmd: m.Command) -> str:
        handler = self.handlers.get(cmd.name)
        if handler is not None:
            try:
                return handler(conn, cmd.args)[:200]
            except (KeyError, TypeError, ValueError) as exc:
                raise CommandRejected("bad_arguments", f"{cmd.name}: {exc}") from exc
        if cmd.name == "ping":
            return "pong"
        if cmd.name == "resync_tickets":
            self.on_resync(conn)
            return "resync requested"
        if cmd.name == "erase_holder":
            ids = cmd.args.get("ticket_ids")
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise CommandRejected("bad_arguments", "erase_holder needs ticket_ids: [int]")
            done = repo.erase_holders(conn, ids)
            return f"erased holder of {done} tickets"
        if cmd.name == "wipe":
            return self._wipe(conn, cmd)
        raise CommandRejected("unknown_command", cmd.name)

    def _wipe(self, conn: Connection, cmd: m.Command) -> str:
        """Record the request; erasing waits for a technician at the device (a replayed nonce is refused)."""
        target, nonce = cmd.args.get("device_id"), cmd.args.get("nonce")
        if target != self.device:
            raise CommandRejected("wrong_device", f"wipe names device {str(target)[:64]!r}")
        if not isinstance(nonce, str) or not WIPE_NONCE.match(nonce):
            raise CommandRejected("bad_arguments", "wipe needs args.nonce: 8 to 64 of A-Z a-z 0-9 _ -")
        used = nonce_used_by(conn, nonce)
        if used is not None:
            raise CommandRejected("replayed_wipe", f"nonce already used by command {used}")
        request = WipeRequest(cmd.command_id, self.device, nonce, cmd.issued_at, iso(self.clock()))
        record_wipe_request(conn, request)
        self.wipe_request = request
        log.warning("%s; confirm on the device with `kiosk-provision wipe`", request.describe())
        return "wipe requested: waiting for a technician to confirm (kiosk-provision wipe)"


def _instant(text: str) -> datetime | None:
    try:
        return parse_instant(text)
    except ValueError:
        return None
