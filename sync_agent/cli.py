"""`kiosk-sync`: the device's MQTT agent. Flags override the config file (`--config`, firmware_config's loader).

The agent runs only as the store's own device (`kiosk.adapters.store.identity`): a store made before identities
existed is claimed by its first start; flags or a config naming another device or venue stop it at once.
`kiosk-sync dead-letters list|requeue`: what central rejected, for technicians (`sync_agent.dead_letter_cmds`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.adapters.store.engine import Store
from kiosk.domain.errors import KioskError
from sync_agent.agent import AgentSettings, SyncAgent
from sync_agent.mqtt import BrokerSettings
from sync_agent.signing import Verifier, load_public_keys


class UsageError(KioskError):
    """Bad command-line use or config: printed as `kiosk-sync: <message>`, exit 2."""

    reason = "usage"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kiosk-sync",
        description="Device sync agent: outbox → central, inbound data.",
        epilog="Technicians: `kiosk-sync dead-letters list|requeue --help` for the events central rejected.",
    )
    p.add_argument("--config", type=Path, help="device config file (firmware_config); flags override it")
    p.add_argument("--db", type=Path, help="device SQLite store")
    p.add_argument("--broker", help="mqtt://HOST:PORT or mqtts://HOST:PORT")
    p.add_argument("--venue", help="venue id (topic segment)")
    p.add_argument("--device", help="device id = MQTT client id (topic segment)")
    p.add_argument("--username", help="MQTT user (per device)")
    p.add_argument("--password-file", type=Path, help="file holding the MQTT password (mode 0600)")
    p.add_argument("--ca", type=Path, help="CA file for the broker's TLS certificate (turns TLS on)")
    p.add_argument("--client-cert", type=Path, help="PEM client certificate for mutual TLS (with --client-key)")
    p.add_argument("--client-key", type=Path, help="PEM key of the client certificate (mode 0600)")
    p.add_argument("--central-key", type=Path, help="central's trusted Ed25519 public key(s), hex, one per line")
    p.add_argument(
        "--state-dir",
        type=Path,
        help="device state directory: central's last time is kept there for the self-test "
        "(default: paths.state_dir of --config; none: not kept)",
    )
    p.add_argument(
        "--device-key",
        type=Path,
        help="PEM Ed25519 key that signs this door's peer admissions "
        "(default: the device identity key in the state directory; none: admissions are not shared)",
    )
    p.add_argument("--batch-size", type=int, default=500, help="events per batch (default 500)")
    p.add_argument("--window", type=int, default=4, help="batches in flight before waiting for acks (default 4)")
    p.add_argument("--ack-timeout", type=float, default=10.0, help="seconds before unacked events are resent")
    p.add_argument(
        "--outbox-retention-days",
        type=_retention_days,
        default=7.0,
        help="delete outbox events central acknowledged more than this many days ago (default 7; 0 = at once)",
    )
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--show-status", action="store_true", help="print the sync status (JSON) from --db and exit")
    return p


def _retention_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 <= days <= 3650:
        raise argparse.ArgumentTypeError(f"must be between 0 and 3650 days: {text}")
    return days


def show_status(db: Path, state_dir: Path | None = None) -> int:
    """What a technician asks first: online? how much is waiting, since when? what was rejected?"""
    from firmware_config.clock import last_central_time
    from kiosk.adapters.store.dead_letters import list_dead_letters
    from kiosk.adapters.store.engine import open_store
    from kiosk.adapters.store.identity import read_identity
    from kiosk.domain.clock import system_clock
    from kiosk.domain.timeutil import iso
    from sync_agent.status import inbound_counts, outbox_queue, read_status

    store = open_store(db)
    try:
        with store.read() as conn:
            status = read_status(conn)
            queue = outbox_queue(conn)
            counts = inbound_counts(conn)
            dead = list_dead_letters(conn, limit=20)
            identity = read_identity(conn)
    finally:
        store.close()
    now = system_clock()
    out: dict[str, Any] = {"status": None, "inbound": {f"{k}/{o}": n for (k, o), n in sorted(counts.items())}}
    out["identity"] = (
        {"device_id": identity.device_id, "venue_id": identity.venue_id, "role": identity.role} if identity else None
    )
    # Read live from the outbox: shown even when the agent never ran (no status row) or its row is old.
    out["queue"] = {
        "pending": queue.pending,
        "oldest_pending_at": iso(queue.oldest_pending_at) if queue.oldest_pending_at else None,
        "oldest_pending_age_s": queue.oldest_pending_age_s(now),
        "dead_letters": queue.dead_letters,
    }
    if status is None:
        out["note"] = "the agent has not written a status yet on this store (not started, or not connected yet)"
    else:
        out["status"] = {
            "online": status.online,
            "pending": status.pending,
            "oldest_pending_age_s": status.oldest_pending_age_s(now),
            "last_ack_at": iso(status.last_ack_at) if status.last_ack_at else None,
            "dead_letters": status.dead_letters,
            "data_age_s": status.data_age_s(now),
            "catalog_version": status.catalog_version,
            "text": status.text,
            "updated_at": iso(status.updated_at),
        }
    out["dead_letters"] = [{"event_id": d.event_id, "reason": d.reason} for d in dead]
    if state_dir is not None:  # the last time seen from central (signed acks, commands), as the self-test reads it
        central = last_central_time(state_dir)
        out["central_time"] = iso(central) if central else None
    print(json.dumps(out, indent=2))
    return 0


def _from_config(path: Path) -> dict[str, Any]:
    """Settings from the device config (firmware_config): broker, credentials (secrets file), ids, database.

    Central's public key is expected at `paths.state_dir/central.pub` unless `--central-key` names another file.
    """
    from firmware_config.loader import ConfigError, load_config

    try:
        cfg = load_config(path)
        device = cfg.device_id
    except (ConfigError, LookupError) as exc:
        raise UsageError(str(exc)) from exc
    broker = cfg.broker
    return {
        "db": Path(cfg.paths.database),
        "broker": broker.url,
        "venue": cfg.device.venue,
        "device": device,
        "username": broker.username,
        "password": broker.password.get_secret_value() if broker.password is not None else None,
        "ca": broker.ca_file,
        "client_cert": broker.client_cert,
        "client_key": broker.client_key,
        "central_key": Path(cfg.paths.state_dir) / "central.pub",
        "state_dir": Path(cfg.paths.state_dir),
    }


def resolve(args: argparse.Namespace) -> tuple[Path, AgentSettings, Path]:
    base: dict[str, Any] = _from_config(args.config) if args.config else {}
    for key in (
        "db",
        "broker",
        "venue",
        "device",
        "username",
        "ca",
        "client_cert",
        "client_key",
        "central_key",
        "state_dir",
    ):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    missing = [
        f"--{k.replace('_', '-')}" for k in ("db", "broker", "venue", "device", "central_key") if not base.get(k)
    ]
    if missing:
        raise UsageError(f"missing {', '.join(missing)} (give the flags or --config FILE)")
    try:
        broker = BrokerSettings.from_url(
            base["broker"],
            username=base.get("username"),
            password_file=args.password_file,
            ca_file=base.get("ca"),
            client_cert=base.get("client_cert"),
            client_key=base.get("client_key"),
        )
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    if args.password_file is None and base.get("password"):
        broker = dataclasses.replace(broker, password=base["password"])
    settings = AgentSettings(
        venue=base["venue"],
        device=base["device"],
        broker=broker,
        batch_size=args.batch_size,
        window=args.window,
        ack_timeout=args.ack_timeout,
        # firmware_config's schema has no sync section yet (unknown keys are refused): the flag only, for now.
        outbox_retention=timedelta(days=args.outbox_retention_days),
        state_dir=base.get("state_dir"),
    )
    return Path(base["db"]), settings, Path(base["central_key"])


def device_key(path: Path | None, state_dir: Path | None) -> Ed25519PrivateKey | None:
    """The key that signs peer admissions: `--device-key`, else the identity made at first boot, else none."""
    from cryptography.hazmat.primitives import serialization

    from firmware_config.identity import KEY_FILE, identity_dir

    if path is None and state_dir is not None and (identity_dir(state_dir) / KEY_FILE).exists():
        path = identity_dir(state_dir) / KEY_FILE
    if path is None:
        return None  # the agent says so (once) when it has admissions to share
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def claim_or_refuse(store: Store, settings: AgentSettings, args: argparse.Namespace) -> None:
    """Run only as the store's device: claim an unclaimed store, refuse another device or venue (IdentityError)."""
    from kiosk.adapters.store.identity import checked_owner, claim_store
    from kiosk.domain.clock import system_clock

    named_by = "--device/--venue" if args.device or args.venue else f"the config {args.config}"
    # A read: a claimed store is checked without waiting for the write lock (the UI may hold it).
    if checked_owner(store, settings.device, settings.venue, named_by=named_by) is not None:
        return
    identity = claim_store(
        store, settings.device, settings.venue, now=system_clock(), claimed_by="kiosk-sync", named_by=named_by
    )
    logging.getLogger("kiosk.sync").info("store %s claimed for %s", store.path, identity.describe())


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["dead-letters"]:
        from sync_agent.dead_letter_cmds import main as dead_letters_main

        return dead_letters_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from kiosk.adapters.store.engine import StoreError, open_store
    from kiosk.adapters.store.identity import IdentityError

    if args.show_status:
        try:
            from_config = _from_config(args.config) if args.config else {}
            db_arg = args.db or from_config.get("db")
            if db_arg is None:
                raise UsageError("--show-status needs --db or --config")
            return show_status(Path(db_arg), args.state_dir or from_config.get("state_dir"))
        except (StoreError, UsageError) as exc:
            print(f"kiosk-sync: {exc}", file=sys.stderr)
            return 2
    try:
        db, settings, key_file = resolve(args)
        verifier = Verifier(load_public_keys(key_file))
        key = device_key(args.device_key, settings.state_dir)
        store = open_store(db)
    except (UsageError, StoreError, OSError, ValueError) as exc:
        print(f"kiosk-sync: {exc}", file=sys.stderr)
        return 2
    try:
        claim_or_refuse(store, settings, args)
    except (IdentityError, StoreError) as exc:
        store.close()
        print(f"kiosk-sync: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("kiosk.sync").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        SyncAgent(store, settings, verifier, device_key=key).run(stop)
    finally:
        store.close()
    return 0
