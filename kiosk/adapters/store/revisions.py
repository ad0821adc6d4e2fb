"""Is the store already at every migration head? Answered without importing Alembic.

Alembic (with Mako and Pygments) stays ~11 MB resident for the life of a process although it is only needed to
migrate, and a kiosk starts on a current store almost every time. So the revision files' plain `revision` /
`down_revision` lines are read here; any doubt (a file that does not say them plainly, an unreadable version
table) answers "not current", and `migrate.upgrade` — real Alembic — decides.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

VERSIONS = Path(__file__).parent / "migrations" / "versions"


def declared_heads(versions: Path = VERSIONS) -> set[str] | None:
    """The newest revision of each branch, or None when a revision file cannot be read plainly."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in versions.glob("*.py"):
        values: dict[str, object] = {}
        for line in file.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition("=")
            name = name.split(":")[0].strip()
            if sep and name in ("revision", "down_revision") and name not in values:
                try:
                    values[name] = ast.literal_eval(value.strip())
                except (ValueError, SyntaxError):
                    return None
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    return (revisions - parents) or None


def is_current(conn: Connection, versions: Path = VERSIONS) -> bool:
    heads = declared_heads(versions)
    if not heads:
        return False
    try:
        current = {str(r[0]) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except DBAPIError:
        return False  # no version table yet (a new file): Alembic creates it
    return current == heads
