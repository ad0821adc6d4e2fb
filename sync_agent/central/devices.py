"""Central's device registry: each device's venue and role (what it may record), and its clock skew.

A role bounds the kinds a device may send: a door scans (`checkin`, `failed_scan`), a sales device sells and
prints (`sale`, `reprint`), `both` does both (docs/operations.md, "Roles"). A venue with no registered device
runs open, as central did before the registry: every device counts as `both`. Once one device of a venue is
registered, a device of that venue that is not is refused (`unknown_device`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from kiosk.domain.timeutil import iso, parse_instant
from sync_agent.central import tables as ct

ROLES = ("door", "sales", "both")
SCOPE: dict[str, frozenset[str]] = {
    "door": frozenset({"checkin", "failed_scan"}),
    "sales": frozenset({"sale", "reprint"}),
    "both": frozenset({"checkin", "failed_scan", "sale", "reprint"}),
}
OPEN = "open"  # the role of a device in a venue without a registry: every kind central knows
SKEW_LIMIT_S = 300.0  # a device clock further off than 5 minutes is reported and its events flagged


def add_device(conn: Connection, device: str, venue: str, role: str, now: datetime, public_key: str | None) -> None:
    """Register (or re-register, replacing role, venue and key) one device."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not device or len(device) > 64 or any(c in device for c in "/+#"):
        raise ValueError(f"invalid device id {device!r}")
    if device == "central":  # the venue broker's account with central's role: no device may be called so
        raise ValueError("'central' is the central service's broker account, not a device id")
    if public_key is not None and (len(public_key) != 64 or any(c not in "0123456789abcdef" for c in public_key)):
        raise ValueError("public key must be 64 lowercase hex digits (Ed25519)")
    conn.execute(delete(ct.devices).where(ct.devices.c.device_id == device))
    conn.execute(
        ct.devices.insert().values(device_id=device, venue=venue, role=role, public_key=public_key, added_at=iso(now))
    )


def remove_device(conn: Connection, device: str) -> bool:
    return conn.execute(delete(ct.devices).where(ct.devices.c.device_id == device)).rowcount > 0


def role_of(conn: Connection, venue: str, device: str) -> str | None:
    """The device's role; OPEN when its venue has no registry; None when the venue has one without it."""
    d = ct.devices.c
    row = conn.execute(select(d.venue, d.role).where(d.device_id == device)).first()
    if row is not None:
        return str(row.role) if row.venue == venue else None
    registered = conn.execute(select(func.count()).select_from(ct.devices).where(d.venue == venue)).scalar_one()
    return OPEN if registered == 0 else None


def in_scope(role: str, kind: str) -> bool:
    return role == OPEN or kind in SCOPE.get(role, frozenset())


def batch_skew(sent_at: str | None, occurred: list[str], now: datetime) -> tuple[float, str] | None:
    """Device clock − central clock in seconds, and the device time it is read from.

    From the batch's `sent_at` (agents that send it); else from its newest event time, which only shows a clock
    ahead (events of a backlog are old, so an older time says nothing about the clock)."""
    if sent_at is not None:
        try:
            return (parse_instant(sent_at) - now).total_seconds(), sent_at
        except ValueError:
            pass
    times = []
    for text in occurred:
        try:
            times.append((parse_instant(text), text))
        except ValueError:
            continue
    if not times:
        return None
    newest, text = max(times)
    ahead = (newest - now).total_seconds()
    return (ahead, text) if ahead > SKEW_LIMIT_S else None


def record_skew(conn: Connection, venue: str, device: str, skew: float, device_at: str, now: datetime) -> None:
    """Upserted: two central instances may take two batches of one device at once."""
    values = {"venue": venue, "skew_s": round(skew, 3), "device_at": device_at, "central_at": iso(now)}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ct.clocks).values(device_id=device, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["device_id"], set_=values))


def list_devices(conn: Connection) -> list[dict[str, Any]]:
    """Registered devices and every device with a recorded clock, with their skew and whether it is off."""
    d, c = ct.devices.c, ct.clocks.c
    out: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(d.device_id, d.venue, d.role, d.public_key).order_by(d.device_id)):
        out[r.device_id] = {"device_id": r.device_id, "venue": r.venue, "role": r.role, "public_key": r.public_key}
    for r in conn.execute(select(c.device_id, c.venue, c.skew_s, c.central_at)):
        row = out.setdefault(r.device_id, {"device_id": r.device_id, "venue": r.venue, "role": None})
        row.update(skew_s=r.skew_s, skew_at=r.central_at, clock_off=abs(r.skew_s) > SKEW_LIMIT_S)
    return [out[k] for k in sorted(out)]


def clock_off(conn: Connection) -> dict[str, float]:
    """Devices whose last batch showed a clock more than 5 minutes off: device id → skew in seconds."""
    c = ct.clocks.c
    rows = conn.execute(select(c.device_id, c.skew_s).where(func.abs(c.skew_s) > SKEW_LIMIT_S))
    return {r.device_id: float(r.skew_s) for r in rows}
