"""Whose store is this: read and claim the one-row store identity (device id, venue id, role).

A store is claimed once, when it is made (first boot, `kiosk demo-data`, the app from its config) or, for a store
made before identities existed, by the first writer that names a device (`kiosk store claim`, `kiosk-sync`, the
configured app). After that every writer takes the device id from here, and naming another one is an error:
events recorded under one id and sent under another are all rejected by central (`device_mismatch`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from kiosk.adapters.store.engine import Store
from kiosk.adapters.store.identity_tables import store_identity
from kiosk.domain.errors import KioskError

# Ids end up in MQTT topics (kiosk/v1/{venue}/{device}/…): the same rule as firmware_config's schema.
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
ROLES = ("door", "sales", "both")


class IdentityError(KioskError):
    """The store's identity is missing, invalid, or belongs to another device or venue."""

    reason = "identity_mismatch"


@dataclass(frozen=True)
class StoreIdentity:
    device_id: str
    venue_id: str
    role: str | None  # None: claimed by something that did not know the role (kiosk-sync from flags)
    claimed_by: str
    created_at: datetime

    def describe(self) -> str:
        return f"device {self.device_id} at venue {self.venue_id}"


def _check_ids(device_id: str, venue_id: str, role: str | None) -> None:
    for name, value in (("device id", device_id), ("venue id", venue_id)):
        if not _ID.fullmatch(value):
            raise IdentityError(
                f"{name} {value!r} is not valid: lower case letters, digits, '-' or '_' (at most 63)",
                reason="bad_identity",
            )
    if role is not None and role not in ROLES:
        raise IdentityError(f"role {role!r} is not one of {', '.join(ROLES)}", reason="bad_identity")


def read_identity(conn: Connection) -> StoreIdentity | None:
    """The store's owner, or None for a store made before identities existed (not claimed yet)."""
    row = conn.execute(select(store_identity).where(store_identity.c.id == 1)).first()
    if row is None:
        return None
    return StoreIdentity(row.device_id, row.venue_id, row.role, row.claimed_by, row.created_at)


def ensure_matches(
    identity: StoreIdentity, device_id: str | None, venue_id: str | None = None, *, named_by: str = "the request"
) -> None:
    """Refuse a device (or venue) other than the store's: its events would all be rejected by central."""
    for what, asked, own in (("device", device_id, identity.device_id), ("venue", venue_id, identity.venue_id)):
        if asked is not None and asked != own:
            raise IdentityError(
                f"this store belongs to {identity.describe()}, but {named_by} names {what} {asked}; "
                f"use {own}, or give this {what} its own store",
                reason=f"{what}_mismatch",
            )


def claim(
    conn: Connection,
    device_id: str,
    venue_id: str,
    *,
    now: datetime,
    claimed_by: str,
    role: str | None = None,
    named_by: str = "the claim",
) -> StoreIdentity:
    """Record the owner of an unclaimed store; on a claimed one check it is the same (a known role is updated)."""
    _check_ids(device_id, venue_id, role)
    existing = read_identity(conn)
    if existing is None:
        conn.execute(
            insert(store_identity).values(
                id=1, device_id=device_id, venue_id=venue_id, role=role, claimed_by=claimed_by, created_at=now
            )
        )
        return StoreIdentity(device_id, venue_id, role, claimed_by, now)
    ensure_matches(existing, device_id, venue_id, named_by=named_by)
    if role is not None and role != existing.role:  # the role is configuration: a door may become a till
        conn.execute(update(store_identity).where(store_identity.c.id == 1).values(role=role))
        return replace(existing, role=role)
    return existing


def store_identity_of(store: Store) -> StoreIdentity | None:
    with store.read() as conn:
        return read_identity(conn)


def claim_store(
    store: Store,
    device_id: str,
    venue_id: str,
    *,
    now: datetime,
    claimed_by: str,
    role: str | None = None,
    named_by: str = "the claim",
) -> StoreIdentity:
    """`claim` in its own write transaction; errors name the store's file."""
    try:
        with store.write() as conn:
            return claim(conn, device_id, venue_id, now=now, claimed_by=claimed_by, role=role, named_by=named_by)
    except IdentityError as exc:
        raise IdentityError(f"{store.path}: {exc}", reason=exc.reason) from None


def checked_owner(store: Store, device_id: str | None, venue_id: str | None, *, named_by: str) -> StoreIdentity | None:
    """The store's owner after checking it is `device_id` at `venue_id` (a read only); None for an unclaimed store."""
    identity = store_identity_of(store)
    if identity is not None:
        try:
            ensure_matches(identity, device_id, venue_id, named_by=named_by)
        except IdentityError as exc:
            raise IdentityError(f"{store.path}: {exc}", reason=exc.reason) from None
    return identity


def writer_device(store: Store, requested: str | None = None, *, named_by: str = "--device") -> StoreIdentity:
    """The identity a writer (a scan from the CLI, the app) records under: the store's; `requested` must match it."""
    identity = checked_owner(store, requested, None, named_by=named_by)
    if identity is None:
        raise IdentityError(
            f"{store.path}: this store has no device identity yet; claim it once with "
            f"`kiosk store claim --db {store.path} --device ID --venue VENUE`",
            reason="no_identity",
        )
    return identity


def own_device(store: Store, fallback: str, venue_id: str, *, now: datetime, claimed_by: str) -> str:
    """The store's device id; an unclaimed store is claimed for `fallback` (the demo's device)."""
    identity = store_identity_of(store)
    if identity is not None:
        return identity.device_id
    return claim_store(store, fallback, venue_id, now=now, claimed_by=claimed_by).device_id


def configured_device(
    store: Store, device_id: str | None, venue_id: str, role: str | None, *, now: datetime
) -> str | None:
    """The configured app's device id: the config's (claiming an unclaimed store), which must be the store's.

    With no id in the config (first boot never ran) the store's own id, when it has one; None when neither knows.
    IdentityError when the config names another device or venue than the store's."""
    if device_id is None:
        identity = checked_owner(store, None, venue_id, named_by="the config")
        return identity.device_id if identity else None
    identity = claim_store(store, device_id, venue_id, now=now, claimed_by="app", role=role, named_by="the config")
    return identity.device_id
