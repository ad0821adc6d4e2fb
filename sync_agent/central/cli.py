"""`kiosk-central`: run the ingest service, list incidents, print stats, publish catalogs/tickets/commands."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

# Never the working directory: a key made beside the code ends up in a commit or a backup of the checkout.
DEFAULT_STATE_DIR = Path("/var/lib/kiosk-central")
KEY_NAME = "central-signing.key"
SUBCOMMANDS = (
    "run",
    "incidents",
    "stats",
    "publish-catalog",
    "publish-tickets",
    "publish-revocations",
    "command",
    "public-key",
    "devices",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk-central", description="Central side of the kiosk sync protocol.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def common(sp: argparse.ArgumentParser, broker: bool = True, key: bool = True) -> None:
        sp.add_argument("--db", required=True, help="SQLite path/URL or postgresql://user@host/db")
        if broker:
            sp.add_argument("--broker", required=True, help="mqtt://HOST:PORT or mqtts://HOST:PORT")
            sp.add_argument("--username")
            sp.add_argument("--password-file", type=Path)
            sp.add_argument("--ca", type=Path)
        if key:
            key_options(sp)

    run = sub.add_parser("run", help="ingest device events (default when only flags are given)")
    common(run)
    run.add_argument("--client-id", default="central-1", help="distinct per instance (shared subscription)")
    run.add_argument("--log-level", default="INFO")
    inc = sub.add_parser("incidents", help="list double admissions")
    common(inc, broker=False, key=False)
    inc.add_argument("--json", action="store_true")
    st = sub.add_parser("stats", help="counts per event kind and device, pending acks, incidents")
    common(st, broker=False, key=False)
    st.add_argument("--json", action="store_true")
    for name, help_text in (
        ("publish-catalog", "publish a catalog JSON document (retained, signed)"),
        ("publish-tickets", "publish a ticket list JSON file as a snapshot, or with --delta as the next delta"),
        ("publish-revocations", "publish the revocation list JSON file (retained, signed)"),
    ):
        sp = sub.add_parser(name, help=help_text)
        common(sp)
        sp.add_argument("--venue", required=True)
        sp.add_argument("file", type=Path)
        if name == "publish-tickets":
            sp.add_argument("--delta", action="store_true", help='file is {"upserts": [...], "removed": [ids]}')
    cmd = sub.add_parser("command", help="send a signed command to one device")
    common(cmd)
    cmd.add_argument("--venue", required=True)
    cmd.add_argument("--device", required=True)
    cmd.add_argument("name")
    cmd.add_argument("--args", default="{}", help="JSON object")
    dev = sub.add_parser("devices", help="the device registry: roles (what each device may record), clock skew")
    dev_sub = dev.add_subparsers(dest="devices_command", metavar="ACTION", required=True)
    dev_add = dev_sub.add_parser("add", help="register a device (or change its venue, role or key)")
    common(dev_add, broker=False, key=False)
    dev_add.add_argument("--device", required=True)
    dev_add.add_argument("--venue", required=True)
    dev_add.add_argument("--role", required=True, choices=("door", "sales", "both"))
    dev_add.add_argument("--public-key", help="the device's Ed25519 public key (hex)")
    dev_rm = dev_sub.add_parser("remove", help="remove a device from the registry")
    common(dev_rm, broker=False, key=False)
    dev_rm.add_argument("--device", required=True)
    dev_ls = dev_sub.add_parser("list", help="registered devices, their roles and clock skew")
    common(dev_ls, broker=False, key=False)
    dev_ls.add_argument("--json", action="store_true")
    pk = sub.add_parser("public-key", help="print central's public key (hex) for the devices' trust file")
    key_options(pk)
    return p


def key_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--key", type=Path, help=f"Ed25519 signing key, created 0600 if missing (default: STATE_DIR/{KEY_NAME})"
    )
    sp.add_argument(
        "--state-dir",
        type=Path,
        help=f"central's state directory, created 0700 (default: $STATE_DIRECTORY, else {DEFAULT_STATE_DIR})",
    )


def state_dir(given: Path | None, env: Mapping[str, str] = os.environ) -> Path:
    """The flag, else systemd's StateDirectory= (its first entry), else /var/lib/kiosk-central."""
    if given is not None:
        return given
    from_systemd = env.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(from_systemd) if from_systemd else DEFAULT_STATE_DIR


def key_path(args: argparse.Namespace) -> Path:
    """`--key`, or the key in the state directory (made 0700 when missing, so only central's user reads it)."""
    if args.key is not None:
        return Path(args.key)
    directory = state_dir(args.state_dir)
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
    return directory / KEY_NAME


def _broker(args: argparse.Namespace) -> Any:
    from sync_agent.mqtt import BrokerSettings

    return BrokerSettings.from_url(
        args.broker, username=args.username, password_file=args.password_file, ca_file=args.ca
    )


def _signer(args: argparse.Namespace) -> Any:
    from sync_agent.signing import Signer, load_or_create_private_key

    return Signer(load_or_create_private_key(key_path(args)))


def _run(args: argparse.Namespace) -> int:
    from sync_agent.central.ingest import open_central_db
    from sync_agent.central.service import CentralService

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    service = CentralService(open_central_db(args.db), _broker(args), _signer(args), args.client_id)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    service.run_until(stop)
    return 0


def _incidents(args: argparse.Namespace) -> int:
    from sync_agent.central.ingest import list_incidents, open_central_db
    from sync_agent.central.repeats import list_conflicts

    with open_central_db(args.db).connect() as conn:
        rows, conflicts = list_incidents(conn), list_conflicts(conn)
    if args.json:
        print(json.dumps(rows + [{**c, "kind": c["reason"], "event_kind": c["kind"]} for c in conflicts],
                         indent=2, default=str))  # fmt: skip
        return 0
    if not rows and not conflicts:
        print("no incidents")
    for c in conflicts:
        print(
            f"{c['reason']} venue {c['venue']} {c['kind']} {c['event_id']}: first sent by {c['owner_device']}, "
            f"rejected from {c['device_id']} at {c['at']}"
        )
    for r in rows:
        print(
            f"#{r['id']} {r['kind']} venue {r['venue']} ticket {r['ticket_id']} performance {r['performance_id']}: "
            f"{r['first_at']} {r['first_device']}/{r['first_gate']}  then  {r['second_at']} "
            f"{r['second_device']}/{r['second_gate']}"
        )
    return 0


def _stats(args: argparse.Namespace) -> int:
    from sync_agent.central.busy import is_db_busy
    from sync_agent.central.ingest import open_central_db, stats

    try:
        with open_central_db(args.db).connect() as conn:
            data = stats(conn)
    except Exception as exc:
        if not is_db_busy(exc):
            raise
        # Central itself holds and retries batches meanwhile (its STATUS line says since when).
        print(f"kiosk-central: database busy (another process holds its write lock): {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(f"events {data['events']}  pending acks {data['pending_acks']}  incidents {data['incidents']}")
        for kind, n in sorted(data["by_kind"].items()):
            print(f"  {kind}: {n}")
        for dev, kinds in sorted(data["by_device"].items()):
            print(f"  {dev}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
        for reason, n in sorted(data["rejected"].items()):
            print(f"  rejected {reason}: {n}")
        if data["conflicts"]:
            print(f"  event id conflicts (kiosk-central incidents): {data['conflicts']}")
        for dev, skew in sorted(data["clock_off"].items()):
            print(f"  CLOCK OFF {dev}: {skew:+.0f} s against central")
        for instance, b in sorted(data["database_busy"].items()):
            print(
                f"  database busy ({instance}): {b['episodes']} episodes, last since {b['last_since']} for "
                f"{b['last_s']:.0f} s; {b['retries']} retries, {b['let_go']} batches let go (resent by devices)"
            )
    return 0


def _devices(args: argparse.Namespace) -> int:
    from kiosk.domain.clock import system_clock
    from sync_agent.central import devices as reg
    from sync_agent.central.ingest import open_central_db

    engine = open_central_db(args.db)
    if args.devices_command == "add":
        with engine.begin() as conn:
            reg.add_device(conn, args.device, args.venue, args.role, system_clock(), args.public_key)
        print(f"device {args.device}: venue {args.venue}, role {args.role}")
        return 0
    if args.devices_command == "remove":
        with engine.begin() as conn:
            found = reg.remove_device(conn, args.device)
        print(f"device {args.device} {'removed' if found else 'was not registered'}")
        return 0 if found else 1
    with engine.connect() as conn:
        rows = reg.list_devices(conn)
    if args.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
        return 0
    for r in rows:
        skew = "" if "skew_s" not in r else f"  clock {r['skew_s']:+.0f} s{' OFF' if r['clock_off'] else ''}"
        print(f"{r['device_id']}  venue {r['venue']}  role {r['role'] or 'unregistered'}{skew}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from kiosk.domain.clock import system_clock
    from sync_agent.central import publish as pub
    from sync_agent.central.ingest import open_central_db
    from sync_agent.mqtt import make_client

    engine, signer = open_central_db(args.db), _signer(args)
    data = None if args.command == "command" else pub.read_json_file(str(args.file))
    # Reach the broker before taking a new version number, so an unreachable broker changes nothing.
    broker = _broker(args)
    client = make_client(f"central-publish-{time.monotonic_ns()}", broker)
    client.connect(broker.host, broker.port, broker.keepalive)
    client.loop_start()
    try:
        if data is None:
            out = pub.command_message(signer, args.venue, args.device, args.name, json.loads(args.args), system_clock())
        elif args.command == "publish-catalog":
            out = pub.catalog_message(engine, signer, args.venue, data)
        elif args.command == "publish-revocations":
            out = pub.revocations_message(engine, signer, args.venue, data)
        elif args.delta:
            upserts, removed = data.get("upserts", []), data.get("removed", [])
            out = pub.tickets_delta_message(engine, signer, args.venue, upserts, removed)
        else:
            out = pub.tickets_snapshot_message(engine, signer, args.venue, data)
        topic, payload, retain = out
        info = client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=30)
        if not info.is_published():
            print("kiosk-central: the broker did not confirm the publication", file=sys.stderr)
            return 1
    finally:
        client.disconnect()
        client.loop_stop()
    print(f"published {args.command} to {topic} ({len(payload)} bytes)")
    return 0


def _public_key(args: argparse.Namespace) -> int:
    print(_signer(args).public_hex())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "run")  # `kiosk-central --db URL --broker URL` runs the service
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "incidents": _incidents,
        "stats": _stats,
        "public-key": _public_key,
        "devices": _devices,
    }
    if args.command is None:
        build_parser().print_help()
        return 2
    try:
        return handlers.get(args.command, _publish)(args)
    except (OSError, ValueError) as exc:
        print(f"kiosk-central: {exc}", file=sys.stderr)
        return 2
