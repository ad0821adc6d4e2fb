"""The embedded demo venue: a catalog around `now`, issuer keys, N tickets and the verdict each should get now.

Every expected verdict is stated by construction (a ticket made for tomorrow is expected to read
wrong_performance), not computed by the verdict engine, so the demo codes double as an end-to-end check.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.repositories import SqlCatalogStore, SqlTicketStore
from kiosk.domain import codes
from kiosk.domain.catalog import Catalog
from kiosk.domain.model import (
    CheckinList,
    Event,
    IssuerKey,
    PassRule,
    Performance,
    Tariff,
    TariffKind,
    TicketRecord,
    TicketStatus,
)
from kiosk.domain.timeutil import VENUE_TZ, iso, utc

VENUE = "Théâtre du Lac, Neuchâtel"
CENTRAL_KEY_ID, SALES_KIOSK_KEY_ID, UNKNOWN_KEY_ID = 1, 2, 99
FESTIVAL, JAZZ = 1, 2
PERF_YESTERDAY, PERF_TODAY, PERF_TOMORROW, PERF_JAZZ = 11, 12, 13, 21
T_FULL, T_REDUCED, T_CHILD, T_INVITE, T_VIP, T_JAZZ, T_JAZZ_REDUCED, T_SEASON = 101, 102, 103, 104, 105, 201, 202, 301
SEASON_PASS = 401
LIST_MAIN, LIST_VIP = 1, 2
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWX"


def _names(fr: str, de: str, it: str, en: str) -> dict[str, str]:
    return {"fr": fr, "de": de, "it": it, "en": en}


def _on_venue_day(now: datetime, after: timedelta, days: int) -> datetime:
    """`after` from now but still on now's venue day (at 23:59 the show starts at 23:59, not after midnight), then
    moved `days` venue days at the same wall-clock time (a DST day is 23 or 25 hours long)."""
    local = utc(now).astimezone(VENUE_TZ)
    last_minute = datetime.combine(local.date(), time(23, 59), VENUE_TZ)
    today = min(utc(now + after), utc(last_minute)).astimezone(VENUE_TZ).replace(second=0, microsecond=0)
    if days == 0:
        return utc(today)
    wall = today.replace(tzinfo=None) + timedelta(days=days)
    return utc(wall.replace(tzinfo=VENUE_TZ, fold=today.fold))


def demo_catalog(now: datetime, keys: list[IssuerKey]) -> Catalog:
    """Festival with three dates (yesterday, today, tomorrow), a jazz night today, a season pass, two gates."""

    def perf(pid: int, event: int, start: timedelta, doors: timedelta, days: int = 0) -> Performance:
        starts = _on_venue_day(now, start, days)
        return Performance(pid, event, starts, starts - doors)

    day = timedelta(days=1)
    events = {
        FESTIVAL: Event(FESTIVAL, _names("Les Nuits du Lac", "Seenächte", "Notti del Lago", "Lake Nights"), VENUE),
        JAZZ: Event(JAZZ, _names("Jazz à la cave", "Jazz im Keller", "Jazz in cantina", "Jazz in the Cellar"), VENUE),
    }
    performances = {
        PERF_YESTERDAY: perf(PERF_YESTERDAY, FESTIVAL, timedelta(minutes=30), timedelta(minutes=90), days=-1),
        PERF_TODAY: perf(PERF_TODAY, FESTIVAL, timedelta(minutes=30), timedelta(minutes=90)),
        PERF_TOMORROW: perf(PERF_TOMORROW, FESTIVAL, timedelta(minutes=30), timedelta(minutes=90), days=1),
        PERF_JAZZ: perf(PERF_JAZZ, JAZZ, timedelta(minutes=60), timedelta(minutes=90)),
    }
    tariffs = {
        t.id: t
        for t in (
            Tariff(
                T_FULL, FESTIVAL, _names("Plein tarif", "Normalpreis", "Prezzo pieno", "Full price"), Decimal("45.00")
            ),
            Tariff(
                T_REDUCED,
                FESTIVAL,
                _names(
                    "Réduit AVS/étudiant",
                    "Ermässigt AHV/Studierende",
                    "Ridotto AVS/studenti",
                    "Reduced (senior/student)",
                ),
                Decimal("30.00"),
                icon="reduced",
            ),
            Tariff(T_CHILD, FESTIVAL, _names("Enfant", "Kind", "Bambino", "Child"), Decimal("15.00"), icon="child"),
            Tariff(
                T_INVITE,
                FESTIVAL,
                _names("Invitation", "Einladung", "Invito", "Invitation"),
                Decimal("0.00"),
                icon="free",
            ),
            Tariff(T_VIP, FESTIVAL, _names("VIP", "VIP", "VIP", "VIP"), Decimal("90.00"), icon="vip"),
            Tariff(T_JAZZ, JAZZ, _names("Normal", "Normal", "Normale", "Standard"), Decimal("35.00")),
            Tariff(
                T_JAZZ_REDUCED,
                JAZZ,
                _names("Réduit", "Ermässigt", "Ridotto", "Reduced"),
                Decimal("25.00"),
                icon="reduced",
            ),
            Tariff(
                T_SEASON,
                None,
                _names("Abonnement saison", "Saisonabo", "Abbonamento stagionale", "Season pass"),
                Decimal("180.00"),
                TariffKind.PASS,
                icon="pass",
            ),
        )
    }
    passes = {
        SEASON_PASS: PassRule(
            SEASON_PASS,
            T_SEASON,
            tariffs[T_SEASON].name,
            now - 30 * day,
            now + 60 * day,
            entries_per_day=2,
            event_ids=frozenset({FESTIVAL, JAZZ}),
        ),
    }
    main_tariffs = frozenset(t for t in tariffs if t != T_VIP)
    lists = {
        LIST_MAIN: CheckinList(
            LIST_MAIN,
            "Entrée principale",
            frozenset({FESTIVAL, JAZZ}),
            main_tariffs,
            allow_exit=True,
            allow_reentry=True,
        ),
        LIST_VIP: CheckinList(LIST_VIP, "Entrée VIP", frozenset({FESTIVAL}), frozenset({T_VIP}), allow_exit=True),
    }
    return Catalog(
        version=f"demo-{iso(now)}",
        events=events,
        performances=performances,
        tariffs=tariffs,
        passes=passes,
        lists=lists,
        gates={"main": LIST_MAIN, "vip": LIST_VIP},
        keys=tuple(keys),
    )


@dataclass
class DemoVenue:
    catalog: Catalog
    tickets: list[TicketRecord] = field(default_factory=list)
    expected: list[tuple[str, str]] = field(default_factory=list)  # (code, verdict at gate "main" now)
    private_keys: dict[int, Ed25519PrivateKey] = field(default_factory=dict)


# (share of tickets, event, performance, tariff, status, revoked, expected verdict at gate "main")
_MIX = (
    (50, FESTIVAL, PERF_TODAY, T_FULL, TicketStatus.VALID, False, "valid"),
    (12, FESTIVAL, PERF_TODAY, T_REDUCED, TicketStatus.VALID, False, "valid"),
    (5, FESTIVAL, PERF_TODAY, T_CHILD, TicketStatus.VALID, False, "valid"),
    (10, JAZZ, PERF_JAZZ, T_JAZZ, TicketStatus.VALID, False, "valid"),
    (8, FESTIVAL, PERF_TOMORROW, T_FULL, TicketStatus.VALID, False, "wrong_performance"),
    (5, FESTIVAL, PERF_YESTERDAY, T_FULL, TicketStatus.VALID, False, "expired"),
    (4, FESTIVAL, PERF_TODAY, T_FULL, TicketStatus.CANCELLED, False, "cancelled"),
    (2, FESTIVAL, PERF_TODAY, T_FULL, TicketStatus.VALID, True, "revoked"),
    (4, FESTIVAL, PERF_TODAY, T_VIP, TicketStatus.VALID, False, "not_on_this_list"),
)


def build_demo_venue(now: datetime, n_tickets: int, seed: int) -> DemoVenue:
    rng = random.Random(seed)
    keys = {kid: Ed25519PrivateKey.generate() for kid in (CENTRAL_KEY_ID, SALES_KIOSK_KEY_ID, UNKNOWN_KEY_ID)}
    trusted = [
        IssuerKey(CENTRAL_KEY_ID, codes.public_key_bytes(keys[CENTRAL_KEY_ID]), "central"),
        IssuerKey(SALES_KIOSK_KEY_ID, codes.public_key_bytes(keys[SALES_KIOSK_KEY_ID]), "kiosk-sales-1"),
    ]
    venue = DemoVenue(demo_catalog(now, trusted), private_keys=keys)
    weights = [m[0] for m in _MIX]
    used_ids: set[int] = set()
    for i in range(n_tickets):
        share = rng.choices(_MIX, weights)[0]
        _, event, perf, tariff, status, revoked, expected = share
        tid = rng.getrandbits(62) + 1
        while tid in used_ids:
            tid = rng.getrandbits(62) + 1
        used_ids.add(tid)
        if i % 2:
            claims = codes.TicketClaims(tid, event, tariff, CENTRAL_KEY_ID, performance_id=perf)
            code = codes.issue(claims, keys[CENTRAL_KEY_ID])
        else:
            code = "".join(rng.choices(_CODE_ALPHABET, k=12))
        holder = rng.choice([None, None, "Anna Müller", "Luca Rossi", "Élodie Favre", "Jonas Keller"])
        venue.tickets.append(
            TicketRecord(
                tid,
                event,
                tariff,
                perf,
                holder_name=holder,
                status=status,
                code=code,
                order_ref=f"ORD-{rng.randrange(10**6):06d}",
            )
        )
        venue.expected.append((code, "revoked:" + str(tid) if revoked else expected))
    _add_specials(venue, rng, now)
    return venue


def _add_specials(venue: DemoVenue, rng: random.Random, now: datetime) -> None:
    keys = venue.private_keys
    # A walk-up ticket signed offline by another kiosk: on no list, valid by its signature alone.
    walkup = codes.issue(
        codes.TicketClaims(rng.getrandbits(62) + 1, JAZZ, T_JAZZ_REDUCED, SALES_KIOSK_KEY_ID, performance_id=PERF_JAZZ),
        keys[SALES_KIOSK_KEY_ID],
    )
    season_id = rng.getrandbits(62) + 1
    season = codes.issue(codes.TicketClaims(season_id, FESTIVAL, T_SEASON, CENTRAL_KEY_ID), keys[CENTRAL_KEY_ID])
    venue.tickets.append(
        TicketRecord(season_id, FESTIVAL, T_SEASON, pass_id=SEASON_PASS, holder_name="Jonas Keller", code=season)
    )
    forged = codes.issue(
        codes.TicketClaims(rng.getrandbits(62) + 1, FESTIVAL, T_FULL, UNKNOWN_KEY_ID, performance_id=PERF_TODAY),
        keys[UNKNOWN_KEY_ID],
    )
    genuine = codes.issue(
        codes.TicketClaims(rng.getrandbits(62) + 1, FESTIVAL, T_FULL, CENTRAL_KEY_ID, performance_id=PERF_TODAY),
        keys[CENTRAL_KEY_ID],
    )
    pos = len(genuine) // 2
    tampered = genuine[:pos] + ("A" if genuine[pos] != "A" else "B") + genuine[pos + 1 :]
    venue.expected += [
        (walkup, "valid"),
        (season, "valid"),
        (forged, "invalid_signature"),
        (tampered, "invalid_signature"),
        ("NOT-A-TICKET-" + "".join(rng.choices(_CODE_ALPHABET, k=6)), "unknown"),
    ]


def install_demo_venue(store: Store, venue: DemoVenue, keys_file: Path | None, now: datetime) -> None:
    """Write the venue to the store (one transaction) and the issuer private keys to a 0600 file."""
    tickets = SqlTicketStore()
    with store.write() as conn:
        SqlCatalogStore().replace(conn, venue.catalog)
        tickets.upsert(conn, venue.tickets, source="demo")
        for i, (code, expected) in enumerate(venue.expected):
            if expected.startswith("revoked:"):
                tickets.revoke(conn, int(expected.split(":", 1)[1]), "demo: reported stolen", now)
                venue.expected[i] = (code, "revoked")
    if keys_file is not None:
        write_private_keys(keys_file, venue.private_keys)


def write_private_keys(path: Path, keys: dict[int, Ed25519PrivateKey]) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    data = {str(kid): k.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex() for kid, k in keys.items()}
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)


def read_private_keys(path: Path) -> dict[int, Ed25519PrivateKey]:
    data = json.loads(path.read_text())
    return {int(k): Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v)) for k, v in data.items()}
