"""`kiosk-provision set KEY=VALUE`: change a few keys (a new printer address) without editing TOML by hand.

The file is re-rendered from the schema (comments included), checked with its secrets by the real loader from a
temporary file beside it, and only then renamed over the old one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from firmware_config.loader import SECRET_KEYS, ConfigError, load_config
from firmware_config.migrations import MigrationError, migrate
from firmware_config.schema import KioskConfig
from firmware_config.wizard.render import render_config
from kiosk.domain.errors import KioskError


class EditError(KioskError, ValueError):
    """The change is refused; the config file is unchanged."""

    reason = "edit_refused"


def parse_assignment(text: str) -> tuple[tuple[str, ...], Any]:
    """`printer.host=10.0.0.9` → (("printer", "host"), "10.0.0.9"); values are TOML literals, else strings."""
    key, sep, value = text.partition("=")
    parts = tuple(p.strip() for p in key.split("."))
    if not sep or len(parts) != 2 or not all(parts):
        raise EditError(f"{text!r}: expected SECTION.KEY=VALUE, e.g. printer.host=10.0.0.9")
    if (parts[0], parts[1]) in SECRET_KEYS:
        raise EditError(f"{key}: a secret; edit the secrets file (mode 0600) instead")
    value = value.strip()
    try:
        parsed: Any = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value  # a bare word such as 10.0.0.9 or cinema
    return parts, parsed


def apply_changes(config_path: Path, assignments: list[str], secrets_path: Path | None = None) -> KioskConfig:
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        raw, _ = migrate(raw)
    except (OSError, tomllib.TOMLDecodeError, MigrationError):
        load_config(config_path, secrets_path)  # raises the loader's precise ConfigError
        raise
    for assignment in assignments:
        (section, key), value = parse_assignment(assignment)
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise EditError(f"{section}: not a table in {config_path}")
        table[key] = value
    try:
        config = KioskConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise EditError(f"not changed: {problems}") from None
    fd, tmp_name = tempfile.mkstemp(prefix=".kiosk.", suffix=".toml", dir=config_path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, config_path.stat().st_mode & 0o777)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render_config(config))
            handle.flush()
            os.fsync(handle.fileno())
        checked = load_config(tmp, secrets_path)  # the whole file, with its secrets, as the services will read it
        os.replace(tmp, config_path)
    except (ConfigError, OSError):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return checked


def set_secret(secrets_path: Path, key: str, value: str) -> None:
    """Write one secret (broker.password or wifi.psk) into the secrets file: merged, mode 0600, atomic."""
    import tomli_w

    from firmware_config.loader import load_secrets
    from firmware_config.wizard.write import write_files

    section, _, name = key.partition(".")
    if (section, name) not in SECRET_KEYS:
        known = ", ".join(f"{s}.{k}" for s, k in sorted(SECRET_KEYS))
        raise EditError(f"{key}: not a secret ({known})")
    if not value:
        raise EditError(f"{key}: empty value")
    current = load_secrets(secrets_path) if secrets_path.exists() else {}
    current.setdefault(section, {})[name] = value
    text = "# Device secrets: keep mode 0600 (kiosk-provision refuses a file others can read).\n"
    write_files(secrets_path.parent, {secrets_path.name: (text + tomli_w.dumps(current), 0o600)}, overwrite=True)
