"""Door check-in: scanned text → verdict → check-in or failed-scan row plus its outbox event, in one transaction.

The read of the ticket's history and the write of the new movement happen inside one BEGIN IMMEDIATE
transaction, so a peer admission applied by the sync agent cannot slip in between and let a ticket in twice.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.domain import codes
from kiosk.domain.catalog import Catalog
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.model import Direction
from kiosk.domain.outbox import checkin_event, failed_scan_event
from kiosk.domain.scan_input import ScanText, clean_scan, trace
from kiosk.domain.verdicts import (
    GateContext,
    TicketFacts,
    Verdict,
    decide,
    refuse_signature,
    refuse_unknown,
    refuse_unreadable,
)
from kiosk.services.ports import CatalogRepository, OutboxRepository, StorePort, TicketRepository, Tx

# A camera sees the same code in many consecutive frames; within this window it is one scan.
DEFAULT_DEBOUNCE = timedelta(seconds=3)


def new_scan_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class ScanResult:
    scan_id: str
    verdict: Verdict
    scanned_at: datetime
    gate: str
    direction: Direction
    repeated: bool = False  # True when the debounce returned an earlier verdict and nothing was written


class ScanningService:
    """One per device; thread-safe (the camera worker and the keyboard wedge may both call `scan`)."""

    def __init__(
        self,
        store: StorePort,
        device_id: str,
        *,
        catalogs: CatalogRepository,
        tickets: TicketRepository,
        outbox: OutboxRepository,
        clock: Clock = system_clock,
        new_id: Callable[[], str] = new_scan_id,
        debounce: timedelta = DEFAULT_DEBOUNCE,
        scan_key: bytes | None = None,
    ) -> None:
        self._store = store
        # The key of failed scans' hashes lives in this process only (never in the store, never sent): equal junk
        # correlates within a run, while nobody holding the store or central's copy can test a guessed AHV number.
        self._scan_key = scan_key if scan_key is not None else secrets.token_bytes(32)
        self.device_id = device_id
        self._clock = clock
        self._new_id = new_id
        self._debounce = debounce
        self._catalogs = catalogs
        self._tickets = tickets
        self._outbox = outbox
        self._cached: tuple[Catalog, codes.Keyring] | None = None
        self._recent: dict[tuple[str, str, Direction], ScanResult] = {}
        self._lock = threading.Lock()

    def with_debounce(self, debounce: timedelta) -> ScanningService:
        """The same door with its own debounce memory (the screenshot tool scans each sample once, no debounce)."""
        return ScanningService(
            self._store,
            self.device_id,
            catalogs=self._catalogs,
            tickets=self._tickets,
            outbox=self._outbox,
            clock=self._clock,
            new_id=self._new_id,
            debounce=debounce,
            scan_key=self._scan_key,
        )

    def scan(
        self,
        raw: str | bytes,
        gate: str = "main",
        direction: Direction = Direction.ENTRY,
        symbology: str | None = None,
    ) -> ScanResult:
        now = self._clock()
        scan = clean_scan(raw)
        key = (scan.text or scan.read, gate, direction)
        with self._lock:
            earlier = self._recent.get(key)
            if earlier is not None and now - earlier.scanned_at < self._debounce:
                return ScanResult(earlier.scan_id, earlier.verdict, earlier.scanned_at, gate, direction, repeated=True)
            result = self._scan_once(scan, gate, direction, now, symbology)
            self._remember(key, result, now)
            return result

    def _remember(self, key: tuple[str, str, Direction], result: ScanResult, now: datetime) -> None:
        self._recent[key] = result
        if len(self._recent) > 256:  # keep the debounce memory small on a long shift
            self._recent = {k: v for k, v in self._recent.items() if now - v.scanned_at < self._debounce}

    def _scan_once(
        self, scan: ScanText, gate: str, direction: Direction, now: datetime, symbology: str | None = None
    ) -> ScanResult:
        scan_id = self._new_id()
        with self._store.write() as conn:
            catalog, keyring = self._catalog(conn)
            ctx = catalog.gate_context(self.device_id, gate, direction)
            verdict = self._judge(conn, scan, catalog, keyring, ctx, now)
            if verdict.records_movement:
                self._tickets.record_movement(conn, scan_id, verdict, ctx, now)
                self._outbox.append(conn, checkin_event(scan_id, verdict, ctx, now))
            else:
                seen = trace(scan, self._scan_key, symbology)
                self._tickets.record_failed(conn, scan_id, verdict, ctx, now, seen)
                self._outbox.append(conn, failed_scan_event(scan_id, verdict, ctx, now, seen))
        return ScanResult(scan_id, verdict, now, gate, direction)

    def _judge(
        self,
        conn: Tx,
        scan: ScanText,
        catalog: Catalog,
        keyring: codes.Keyring,
        ctx: GateContext,
        now: datetime,
    ) -> Verdict:
        if scan.junk:
            return refuse_unreadable()
        ticket = self._tickets.by_code(conn, scan.text)
        if ticket is None and codes.looks_signed(scan.text):
            try:
                claims = codes.verify(scan.text, keyring)
            except codes.CodeError as exc:
                return refuse_signature(exc.reason)
            # The list may know more (holder name, a cancellation) than the code carries.
            ticket = self._tickets.by_id(conn, claims.ticket_id) or claims.as_ticket(scan.text)
        if ticket is None:
            return refuse_unknown()
        facts = TicketFacts(
            ticket=ticket,
            revoked=self._tickets.is_revoked(conn, ticket.ticket_id),
            tariff=catalog.tariffs.get(ticket.tariff_id),
            event=catalog.events.get(ticket.event_id),
            pass_rule=catalog.passes.get(ticket.pass_id)
            if ticket.pass_id
            else catalog.pass_for_tariff(ticket.tariff_id),
            history=self._tickets.history(conn, ticket.ticket_id),
        )
        return decide(facts, ctx, now)

    def _catalog(self, conn: Tx) -> tuple[Catalog, codes.Keyring]:
        version = self._catalogs.version(conn)
        if self._cached is None or self._cached[0].version != version:
            catalog = self._catalogs.load(conn)
            self._cached = (catalog, codes.Keyring(catalog.keys))
        return self._cached
