"""Broker accounts: the venue broker's dynamic-security file (users, PBKDF2-SHA512 passwords, per-role ACLs).

mosquitto 2.0's `acl_file` never checks subscriptions (every SUBSCRIBE is granted, the read ACL is applied only
when a message is delivered): a door could join central's shared subscription `$share/central/…/tx`, be handed
every other batch and have it dropped by its read ACL, so central lost half its intake. The dynamic security
plugin shipped in Debian's `mosquitto` checks SUBSCRIBE too, so the venue broker uses it (see mosquitto.conf).
Its 2.0 ACLs have no `%u`/`%c` patterns, hence one role per device for its own topics.

Written in Python rather than with `mosquitto_ctrl` so provisioning works on a machine without the broker
running (a technician's laptop). Passwords use mosquitto's own PBKDF2-SHA512 (12-byte salt, 101 iterations);
`hash_password` renders the same hash as a `$7$` password-file entry (`mosquitto_passwd`'s format).

    python -m sync_agent.broker.accounts add SECURITY_FILE USER --venue V [--password-file F]  (generates one)
    python -m sync_agent.broker.accounts remove SECURITY_FILE USER --venue V
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import pwd
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ITERATIONS = 101  # mosquitto_passwd's and the dynamic security plugin's default
SALT_BYTES = 12  # the plugin refuses (skips) a client whose salt is not exactly this long
CENTRAL = "central"  # the central service's account, and the bridge's local user
BROKER_USER = "mosquitto"  # mosquitto reads its plugin's file after dropping root to this user


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
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


def _check_name(value: str, what: str) -> str:
    if not value or any(c in value for c in ":/+#$ \0") or len(value) > 64:
        raise ValueError(f"invalid {what} {value!r}")
    return value


def _write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600, owned by the broker's user when run as root (else mosquitto cannot read
    it after dropping privileges)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            broker = pwd.getpwnam(BROKER_USER)
            os.chown(tmp, broker.pw_uid, broker.pw_gid)
    os.replace(tmp, path)


def add_user(passwd_file: Path, user: str, password: str) -> None:
    """Add or replace `user` in a plain mosquitto password file (e.g. central's own broker), mode 0600."""
    _check_name(user, "broker user")
    lines = []
    if passwd_file.exists():
        lines = [ln for ln in passwd_file.read_text().splitlines() if ln and not ln.startswith(f"{user}:")]
    lines.append(f"{user}:{hash_password(password)}")
    _write_private(passwd_file, "\n".join(lines) + "\n")


def _acl(kind: str, topic: str) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "allow": True}


def _reads(*topics: str) -> list[dict[str, Any]]:
    """Subscribing to a topic and having its messages delivered are two checks: grant both."""
    return [_acl(kind, t) for t in topics for kind in ("subscribePattern", "publishClientReceive")]


def _writes(*topics: str) -> list[dict[str, Any]]:
    return [_acl("publishClientSend", t) for t in topics]


def venue_roles(venue: str, devices: Sequence[str]) -> list[dict[str, Any]]:
    """Role `central` (device → central topics, incl. central's shared subscriptions; central → venue topics),
    role `door` (what central and the other doors publish for the venue) and `device:<id>` per device (its own
    topics). Nothing else is granted: no `#`, no `$SYS`, no other device's topics, no `$share` for a door."""
    base = f"kiosk/v1/{_check_name(venue, 'venue id')}"
    central = [
        *_reads("$share/central/kiosk/v1/+/+/tx", "$share/central/kiosk/v1/+/+/resync"),
        *_reads(f"{base}/+/tx", f"{base}/+/resync", f"{base}/+/status", f"{base}/+/admission"),
        *_writes(f"{base}/+/ack", f"{base}/+/cmd", f"{base}/catalog", f"{base}/tickets/#"),
        *_writes(f"{base}/revocations", f"{base}/admissions"),
    ]
    door = _reads(
        f"{base}/catalog", f"{base}/tickets/#", f"{base}/revocations", f"{base}/admissions", f"{base}/+/admission"
    )
    roles = [{"rolename": CENTRAL, "acls": central}, {"rolename": "door", "acls": door}]
    for device in devices:
        own = f"{base}/{_check_name(device, 'device id')}"
        acls = [*_writes(f"{own}/tx", f"{own}/status", f"{own}/admission", f"{own}/resync")]
        roles.append({"rolename": f"device:{device}", "acls": [*acls, *_reads(f"{own}/ack", f"{own}/cmd")]})
    return roles


def _client(user: str, entry: str) -> dict[str, Any]:
    _, _, iterations, salt, digest = entry.split("$")
    names = [CENTRAL] if user == CENTRAL else ["door", f"device:{user}"]
    return {
        "username": user,
        "password": digest,
        "salt": salt,
        "iterations": int(iterations),
        "roles": [{"rolename": name} for name in names],
    }


def venue_security(venue: str, users: Mapping[str, str]) -> dict[str, Any]:
    """The dynamic security plugin's config for one venue: `users` maps each user to its `$7$` password hash."""
    devices = sorted(u for u in users if u != CENTRAL)
    return {
        # Everything not granted by a role is refused; unsubscribing is harmless.
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": [_client(_check_name(u, "broker user"), users[u]) for u in sorted(users)],
        "groups": [],
        "roles": venue_roles(venue, devices),
    }


def read_users(security_file: Path) -> dict[str, str]:
    """The users of an existing security file, as `$7$` hashes (empty when the file does not exist)."""
    if not security_file.exists():
        return {}
    clients = json.loads(security_file.read_text()).get("clients", [])
    return {c["username"]: f"$7${c['iterations']}${c['salt']}${c['password']}" for c in clients}


def save_users(security_file: Path, venue: str, users: Mapping[str, str]) -> None:
    _write_private(security_file, json.dumps(venue_security(venue, users), indent=1) + "\n")


def add_account(security_file: Path, venue: str, user: str, password: str) -> None:
    """Add or replace `user` (a device id, or `central`) in the venue's security file, roles rebuilt."""
    users = read_users(security_file)
    users[_check_name(user, "broker user")] = hash_password(password)
    save_users(security_file, venue, users)


def remove_account(security_file: Path, venue: str, user: str) -> bool:
    users = read_users(security_file)
    found = users.pop(user, None) is not None
    save_users(security_file, venue, users)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sync_agent.broker.accounts")
    sub = p.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add or replace an account (a device id, or central) in the security file")
    add.add_argument("security_file", type=Path)
    add.add_argument("user")
    add.add_argument("--venue", required=True)
    add.add_argument("--password-file", type=Path, help="read the password here; else generate and print one")
    rm = sub.add_parser("remove", help="remove an account from the security file")
    rm.add_argument("security_file", type=Path)
    rm.add_argument("user")
    rm.add_argument("--venue", required=True)
    args = p.parse_args(argv)
    if args.cmd == "remove":
        if not remove_account(args.security_file, args.venue, args.user):
            print(f"no account {args.user!r} in {args.security_file}", file=sys.stderr)
            return 1
        return 0
    if args.password_file:
        password = args.password_file.read_text().strip()
    else:
        password = secrets.token_urlsafe(24)
        print(password)
    add_account(args.security_file, args.venue, args.user, password)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
