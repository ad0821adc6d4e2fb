"""`kiosk-provision`: the technicians' command line, to set up, check, change and wipe a kiosk.

Commands: wizard, validate, show, set, secret, firstboot, selftest, wifi, wipe, hash-pin (docs/operations.md).

Exit codes: 0 done / all checks passed, 1 a problem the message explains (bad config, existing identity, failed
check), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import tomli_w
from pydantic import SecretStr, ValidationError

from firmware_config.identity import IdentityError, provision_identity
from firmware_config.loader import ConfigError, load_config
from firmware_config.schema import KioskConfig
from firmware_config.selftest import CHECKS, SelftestOptions, format_table, run_selftest
from firmware_config.wizard.render import Answers, build_config, render_files, with_pin
from firmware_config.wizard.write import WriteError, write_files
from kiosk.domain.clock import Clock, system_clock
from kiosk.domain.errors import KioskError
from kiosk.domain.languages import LANGUAGES

DEFAULT_CONFIG = Path(os.environ.get("KIOSK_CONFIG", "/etc/kiosk/kiosk.toml"))
MASK = "********"


class Failure(KioskError):
    """Printed as `kiosk-provision: <message>`, exit 1."""

    reason = "provision_failed"


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _load(args: argparse.Namespace) -> KioskConfig:
    return load_config(args.config, args.secrets)


# --- wizard ----------------------------------------------------------------------------------------------


def _answers_from_flags(args: argparse.Namespace) -> Answers:
    base = Answers(venue=args.venue or "", gate=args.gate or "")
    flags = {
        "role": args.role,
        "device_id": args.device_id,
        "printer_host": args.printer_host,
        "printer_port": args.printer_port,
        "printer_format": args.printer_format,
        "printer_dpi": args.printer_dpi,
        "printer_transport": args.printer_transport,
        "cups_queue": args.cups_queue,
        "camera": (int(args.camera) if args.camera.isdigit() else args.camera) if args.camera else None,
        "broker_url": args.broker_url,
        "broker_username": args.broker_user,
        "default_language": args.language,
        "languages": tuple(args.languages.split(",")) if args.languages else None,
        # Relative paths given on the command line mean "from here", not "from the config file's folder".
        "database": str(Path(args.database).resolve()) if args.database else None,
        "state_dir": str(Path(args.state_dir).resolve()) if args.state_dir else None,
        "wifi_ssid": args.wifi_ssid,
        # Secrets come from the environment, never from flags (visible to every user in `ps`).
        "broker_password": os.environ.get("KIOSK_BROKER_PASSWORD"),
        "wifi_psk": os.environ.get("KIOSK_WIFI_PSK"),
    }
    return replace(base, **{k: v for k, v in flags.items() if v is not None})


def cmd_wizard(args: argparse.Namespace) -> int:
    answers = _answers_from_flags(args)
    if args.non_interactive:
        missing = [flag for flag, value in (("--venue", args.venue), ("--gate", args.gate)) if not value]
        if missing:
            raise Failure(f"--non-interactive needs {' and '.join(missing)} (everything else has a default)")
        if answers.broker_username and not answers.broker_password:
            raise Failure("--broker-user needs the password in the environment variable KIOSK_BROKER_PASSWORD")
        pin = os.environ.get("KIOSK_TECH_PIN")
        if pin:
            try:
                answers = with_pin(answers, pin)
            except ValueError as exc:
                raise Failure(f"KIOSK_TECH_PIN: {exc}") from None
    else:
        from firmware_config.wizard.prompt import WizardAborted, confirm, run_wizard

        ask_secret = getpass.getpass if sys.stdin.isatty() else input
        try:
            print("Venue kiosk set-up. Enter keeps the value in [brackets]; Ctrl-D stops without writing.")
            answers = run_wizard(input, ask_secret, print, answers)
            if not confirm(input, f"Write the configuration to {args.out}?"):
                raise WizardAborted("nothing was written")
        except WizardAborted as exc:
            raise Failure(str(exc)) from None
    try:
        config = build_config(answers)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Failure(f"invalid answers: {problems}") from None
    try:
        written = write_files(args.out, render_files(config), overwrite=args.force)
    except WriteError as exc:
        raise Failure(str(exc)) from None
    for path in written:
        print(f"wrote {path}")
    return 0


# --- validate, show --------------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config(args.file, args.secrets)
    print(
        f"{args.file}: ok (version {config.version}, {config.device.venue}/{config.device.gate}, {config.device.role})"
    )
    return 0


def _masked(value: object, reveal: bool) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value() if reveal else MASK
    if isinstance(value, dict):
        return {k: _masked(v, reveal) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, reveal) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def cmd_show(args: argparse.Namespace) -> int:
    config = _load(args)
    data = _masked(config.model_dump(exclude_none=True), args.reveal)
    assert isinstance(data, dict)
    data = json.loads(json.dumps(data, default=str))  # enums → plain values
    print(json.dumps(data, indent=2, ensure_ascii=False) if args.json else tomli_w.dumps(data), end="")
    return 0


# --- firstboot, selftest, wifi, hash-pin -----------------------------------------------------------------


def cmd_firstboot(args: argparse.Namespace) -> int:
    config = _load(args)
    state_dir = args.state_dir or config.paths.state_dir
    try:
        identity = provision_identity(state_dir, config.paths.database, config.device, args.clock())
    except IdentityError as exc:
        raise Failure(str(exc)) from None
    except OSError as exc:
        raise Failure(f"cannot create the identity in {state_dir}: {exc.strerror or exc}") from None
    payload = identity.enrollment_payload(config.device.venue, config.device.gate, config.device.role.value)
    text = json.dumps(payload, separators=(",", ":"))
    print(f"device id: {identity.device_id}\nfingerprint: {payload['fingerprint']}\nenrollment: {text}")
    if not args.no_qr:
        import segno

        print("Scan this with the central enrollment app:")
        segno.make(text, error="m").terminal(out=sys.stdout, compact=True)
    return 0


def cmd_selftest(args: argparse.Namespace) -> int:
    config = _load(args)
    options = SelftestOptions(
        timeout=args.timeout,
        camera_source=args.camera_source,
        min_free_mb=args.min_free_mb,
        expect_code=args.expect_code,
        now=args.clock,
    )
    only = args.only.split(",") if args.only else CHECKS
    unknown = set(only) - set(CHECKS)
    if unknown:
        raise Failure(f"--only: unknown check(s) {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
    results = run_selftest(config, options, only)
    if args.json:
        print(json.dumps([{**r.__dict__, "status": r.status} for r in results], indent=2))
    else:
        print(format_table(results))
    return 0 if all(r.ok for r in results) else 1


def cmd_wifi(args: argparse.Namespace) -> int:
    from firmware_config.wizard.wifi import WifiError, install_wifi

    config = _load(args)
    if config.wifi is None:
        raise Failure(f"{args.config}: no [wifi] section and no [wifi] psk in the secrets file")
    psk = config.wifi.psk.get_secret_value() if config.wifi.psk else None
    try:
        written = install_wifi(args.root, config.wifi.ssid, psk, config.wifi.country)
    except (WifiError, WriteError) as exc:
        raise Failure(f"wifi: {exc}") from None
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from firmware_config.edit import EditError, apply_changes

    try:
        apply_changes(args.config, args.assignments, args.secrets)
    except EditError as exc:
        raise Failure(str(exc)) from None
    print(f"{args.config}: updated ({', '.join(a.partition('=')[0] for a in args.assignments)}); restart the kiosk")
    return 0


def cmd_secret(args: argparse.Namespace) -> int:
    from firmware_config.edit import EditError, set_secret
    from firmware_config.loader import SECRETS_FILENAME

    path = args.secrets or args.config.with_name(SECRETS_FILENAME)
    tty = sys.stdin.isatty()
    value = getpass.getpass(f"{args.key}: ") if tty else sys.stdin.readline().rstrip("\n")
    try:
        set_secret(path, args.key, value)
    except (EditError, WriteError) as exc:
        raise Failure(str(exc)) from None
    print(f"{path}: {args.key} set (mode 0600)")
    return 0


def cmd_wipe(args: argparse.Namespace) -> int:
    from firmware_config.loader import default_secrets_path
    from firmware_config.wipe import WipeRefused, execute_wipe, plan_wipe, refuse_unsynced
    from firmware_config.wipe_request import read_pending_wipe

    config = _load(args)
    secrets, is_credential = (args.secrets, False) if args.secrets else default_secrets_path(args.config)
    try:
        plan = plan_wipe(config, args.config, None if is_credential else secrets, args.root)
    except WipeRefused as exc:
        raise Failure(f"wipe refused, nothing removed: {exc}") from None
    print(f"events not yet acknowledged by central: {plan.unsynced}")
    request = read_pending_wipe(config.paths.database)
    print(f"wipe requested by central: {request.describe()}" if request else "no wipe requested by central")
    if args.requested and request is None:
        raise Failure("--requested: central has not asked to wipe this device; nothing removed")
    if not args.dry_run:
        try:
            refuse_unsynced(plan, allow_unsynced=args.force_unsynced)
        except WipeRefused as exc:
            raise Failure(f"wipe refused, nothing removed: {exc}") from None
    for path in plan.dirs + plan.files:
        print(f"{'would remove' if args.dry_run else 'remove'} {path}")
    if args.dry_run:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise Failure("wipe needs --yes when not run from a terminal; nothing removed")
        if input("Type WIPE to erase this device: ").strip() != "WIPE":
            raise Failure("not confirmed; nothing removed")
    try:
        removed = execute_wipe(plan, allow_unsynced=args.force_unsynced)
    except WipeRefused as exc:
        raise Failure(f"wipe refused, nothing removed: {exc}") from None
    print(f"wiped: {len(removed)} item(s) removed; the device is blank (provision it again with the wizard)")
    return 0


def cmd_hash_pin(_args: argparse.Namespace) -> int:
    from firmware_config.pins import hash_pin

    pin = getpass.getpass("Technician PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        raise Failure(str(exc)) from None
    return 0


# --- parser ----------------------------------------------------------------------------------------------


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"config file (default {DEFAULT_CONFIG})")
    parser.add_argument("--secrets", type=Path, help="secrets file (default: systemd credential or secrets.toml)")


def _wizard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--non-interactive", action="store_true", help="take every answer from flags (mass provisioning)")
    p.add_argument("--out", type=Path, default=Path("/etc/kiosk"), help="output directory (default /etc/kiosk)")
    p.add_argument("--force", action="store_true", help="replace existing files")
    p.add_argument("--venue")
    p.add_argument("--gate")
    p.add_argument("--role", choices=("door", "sales", "both"))
    p.add_argument("--device-id")
    p.add_argument("--printer-host")
    p.add_argument("--printer-port", type=int)
    p.add_argument("--printer-format", choices=("show", "cinema"))
    p.add_argument("--printer-dpi", type=int, choices=(203, 300))
    p.add_argument("--printer-transport", choices=("tcp", "cups"))
    p.add_argument("--cups-queue")
    p.add_argument("--camera", help="camera index or /dev path")
    p.add_argument("--broker-url")
    p.add_argument("--broker-user", help="password from $KIOSK_BROKER_PASSWORD")
    p.add_argument("--language", choices=LANGUAGES)
    p.add_argument("--languages", help="offered languages, e.g. fr,de,it,en")
    p.add_argument("--database")
    p.add_argument("--state-dir")
    p.add_argument("--wifi-ssid", help="passphrase from $KIOSK_WIFI_PSK")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-provision", description="Set up and check a venue kiosk.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("wizard", help="write kiosk.toml (+ secrets.toml): interactive or from flags")
    _wizard_args(p)
    p.set_defaults(func=cmd_wizard)
    p = sub.add_parser("validate", help="check a config file (and its secrets)")
    p.add_argument("file", type=Path)
    p.add_argument("--secrets", type=Path)
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("show", help="print the effective config, secrets masked")
    _config_args(p)
    p.add_argument("--reveal", action="store_true", help="show secrets in clear")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("firstboot", help="create this device's id and Ed25519 key pair (once)")
    _config_args(p)
    p.add_argument("--state-dir", type=Path, help="default: paths.state_dir of the config")
    p.add_argument("--no-qr", action="store_true", help="do not print the QR code")
    p.set_defaults(func=cmd_firstboot)
    p = sub.add_parser("selftest", help="check camera, printer, broker, clock, disk and database")
    _config_args(p)
    p.add_argument("--only", help=f"comma-separated subset of {','.join(CHECKS)}")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per network check (default 3)")
    p.add_argument("--camera-source", help="read frames from this video file instead of the camera")
    p.add_argument("--expect-code", help="also require this code, held in front of the camera, to be read")
    p.add_argument("--min-free-mb", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_selftest)
    p = sub.add_parser("wifi", help="write NetworkManager and wpa_supplicant profiles under a root directory")
    _config_args(p)
    p.add_argument("--root", type=Path, default=Path("/"), help="target root (a mounted image, or /)")
    p.set_defaults(func=cmd_wifi)
    p = sub.add_parser("set", help="change config keys, e.g. printer.host=10.0.0.9 (checked, then written)")
    _config_args(p)
    p.add_argument("assignments", nargs="+", metavar="SECTION.KEY=VALUE")
    p.set_defaults(func=cmd_set)
    p = sub.add_parser("secret", help="store broker.password or wifi.psk in the secrets file (read from stdin)")
    _config_args(p)
    p.add_argument("key", choices=("broker.password", "wifi.psk"))
    p.set_defaults(func=cmd_secret)
    p = sub.add_parser("wipe", help="end of event: erase store, identity, config, secrets and Wi-Fi profiles")
    _config_args(p)
    p.add_argument("--root", type=Path, default=Path("/"), help="root holding the Wi-Fi profiles (default /)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p.add_argument("--force-unsynced", action="store_true", help="wipe even with events central has not acked")
    p.add_argument("--requested", action="store_true", help="wipe only if central asked to (a pending wipe command)")
    p.set_defaults(func=cmd_wipe)
    p = sub.add_parser("hash-pin", help="read a technician PIN and print its hash for technician.pin_hash")
    p.set_defaults(func=cmd_hash_pin)
    return parser


def main(argv: Sequence[str] | None = None, *, clock: Clock = system_clock) -> int:
    """Run one command; `clock` is the only time source the commands read (as `args.clock`)."""
    args = build_parser().parse_args(argv)
    args.clock = clock
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        _err(f"kiosk-provision: invalid configuration:\n{exc}")
        return 1
    except Failure as exc:
        _err(f"kiosk-provision: {exc}")
        return 1
    except KeyboardInterrupt:
        _err("kiosk-provision: interrupted; nothing more was written")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
