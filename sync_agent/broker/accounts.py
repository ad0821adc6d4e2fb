"""Broker accounts: mosquitto password-file entries (PBKDF2-SHA512, mosquitto's `$7$` format) and the venue ACL.

Written in Python rather than shelling out to `mosquitto_passwd` so provisioning works on a machine without the
broker installed (a technician's laptop); the format is mosquitto 2.0's: `user:$7$ITER$b64(salt)$b64(hash)`.

    python -m sync_agent.broker.accounts add PASSWD_FILE USER [--password-file F]   (generates one if absent)
    python -m sync_agent.broker.accounts acl --venue V > acl
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

ITERATIONS = 101  # mosquitto_passwd's default
HERE = Path(__file__).parent


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, entry: str) -> bool:
    try:
        _, kind, iterations, salt, digest = entry.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    expected = hash_password(password, salt=base64.b64decode(salt), iterations=int(iterations))
    return hmac.compare_digest(expected.rsplit("$", 1)[1], digest)


def add_user(passwd_file: Path, user: str, password: str) -> None:
    """Add or replace `user` in the password file, written atomically with mode 0600."""
    if not user or ":" in user or any(c in user for c in "/+#") or len(user) > 64:
        raise ValueError(f"invalid broker user {user!r}")
    lines = []
    if passwd_file.exists():
        lines = [ln for ln in passwd_file.read_text().splitlines() if ln and not ln.startswith(f"{user}:")]
    lines.append(f"{user}:{hash_password(password)}")
    tmp = passwd_file.with_name(passwd_file.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, passwd_file)


def venue_acl(venue: str) -> str:
    """The ACL template (sync_agent/broker/acl.conf) for one venue."""
    if not venue or any(c in venue for c in "/+#"):
        raise ValueError(f"invalid venue id {venue!r}")
    return (HERE / "acl.conf").read_text().replace("{venue}", venue)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sync_agent.broker.accounts")
    sub = p.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add or replace a user in a mosquitto password file")
    add.add_argument("passwd_file", type=Path)
    add.add_argument("user")
    add.add_argument("--password-file", type=Path, help="read the password here; else generate and print one")
    acl = sub.add_parser("acl", help="print the venue ACL")
    acl.add_argument("--venue", required=True)
    args = p.parse_args(argv)
    if args.cmd == "acl":
        sys.stdout.write(venue_acl(args.venue))
        return 0
    if args.password_file:
        password = args.password_file.read_text().strip()
    else:
        password = secrets.token_urlsafe(24)
        print(password)
    add_user(args.passwd_file, args.user, password)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
