"""The SQL of peer admissions on a device: trusted door keys, this door's numbered log, numbers held from peers.

Each function runs inside the caller's transaction (`Store.read()` / `Store.write()`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kiosk.adapters.store import peer_tables as pt


def replace_peer_keys(conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    """The doors' public keys (device id, hex) as the catalog lists them, replacing the previous list."""
    conn.execute(delete(pt.peer_keys))
    rows = [{"device_id": d, "public_key": k} for d, k in keys]
    if rows:
        conn.execute(insert(pt.peer_keys), rows)


def peer_key(conn: Connection, device_id: str) -> str | None:
    return conn.execute(select(pt.peer_keys.c.public_key).where(pt.peer_keys.c.device_id == device_id)).scalar()


def log_top(conn: Connection) -> int:
    """The highest peer sequence number this door gave out (0: none yet)."""
    return int(conn.execute(select(func.max(pt.peer_log.c.pseq))).scalar_one() or 0)


def append_log(conn: Connection, bodies: Sequence[tuple[int, str]]) -> None:
    if bodies:
        conn.execute(insert(pt.peer_log), [{"pseq": n, "body": b} for n, b in bodies])


def log_range(conn: Connection, first: int, last: int, limit: int) -> list[str]:
    """The published bodies numbered first..last (inclusive), oldest first, at most `limit`."""
    c = pt.peer_log.c
    rows = conn.execute(select(c.body).where(c.pseq >= first, c.pseq <= last).order_by(c.pseq).limit(limit))
    return list(rows.scalars())


def mark_seen(conn: Connection, device_id: str, numbers: Iterable[int]) -> None:
    rows = [{"device_id": device_id, "pseq": n} for n in set(numbers)]
    if rows:
        conn.execute(sqlite_insert(pt.peer_seen).values(rows).on_conflict_do_nothing())


def raise_top(conn: Connection, device_id: str, top: int) -> int:
    """Record that `device_id` announced `top`; returns the highest announced so far."""
    stmt = sqlite_insert(pt.peer_tops).values(device_id=device_id, top=top)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["device_id"], set_={"top": func.max(pt.peer_tops.c.top, stmt.excluded.top)}
        )
    )
    return int(conn.execute(select(pt.peer_tops.c.top).where(pt.peer_tops.c.device_id == device_id)).scalar_one())


def seen_count(conn: Connection, device_id: str, up_to: int) -> int:
    c = pt.peer_seen.c
    q = select(func.count()).select_from(pt.peer_seen).where(c.device_id == device_id, c.pseq <= up_to)
    return int(conn.execute(q).scalar_one())


def seen_numbers(conn: Connection, device_id: str) -> list[int]:
    c = pt.peer_seen.c
    return list(conn.execute(select(c.pseq).where(c.device_id == device_id).order_by(c.pseq)).scalars())


def tops(conn: Connection) -> dict[str, int]:
    return {str(r.device_id): int(r.top) for r in conn.execute(select(pt.peer_tops))}
