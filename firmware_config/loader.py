"""Load a device config from TOML, with its secrets, into a `KioskConfig`; errors name file, line, key, problem.

TOML only (stdlib `tomllib`): one unambiguous format for technicians, no YAML typing surprises ("no" → False,
"0123" → octal) on PINs, ports and Wi-Fi names. Line numbers for validation errors come from a small scan of
the file's table headers and keys, since `tomllib` keeps no positions.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from firmware_config.migrations import MigrationError, migrate
from firmware_config.schema import KioskConfig
from kiosk.domain.errors import KioskError

SECRETS_FILENAME = "secrets.toml"
CREDENTIAL_NAME = "kiosk-secrets"  # systemd LoadCredential=kiosk-secrets:/etc/kiosk/secrets.toml
SECRET_KEYS: frozenset[tuple[str, str]] = frozenset({("broker", "password"), ("wifi", "psk")})


@dataclass(frozen=True)
class ConfigIssue:
    file: Path
    line: int | None
    key: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{where}: {self.key}: {self.problem}" if self.key else f"{where}: {self.problem}"


class ConfigError(KioskError):
    """A config or secrets file that cannot be used; str() is one `file:line: key: problem` line per issue."""

    reason = "bad_config"

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))

    @classmethod
    def one(cls, file: Path, line: int | None, key: str, problem: str) -> ConfigError:
        return cls([ConfigIssue(file, line, key, problem)])


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each table and key path to the 1-based line that defines it (first occurrence)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault(table + _split_key(key.group(1)), number)
    return lines


def _line_for(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _read_toml(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError.one(path, None, "", "file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError.one(path, None, "", f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError.one(path, None, "", f"cannot read ({exc.strerror})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(found.group(1)) if found else None
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        column = f" (column {found.group(2)})" if found else ""
        raise ConfigError.one(path, line, "", f"not valid TOML: {problem}{column}") from None
    return raw, key_lines(text)


def _check_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError.one(
            path, None, "", f"secrets file is readable by group or others (mode {mode:04o}); run: chmod 600 {path}"
        )


def default_secrets_path(config_path: Path) -> tuple[Path, bool]:
    """Where secrets are looked for: (path, is_systemd_credential)."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / CREDENTIAL_NAME).exists():
        return Path(creds) / CREDENTIAL_NAME, True
    return config_path.with_name(SECRETS_FILENAME), False


def load_secrets(path: Path, *, check_mode: bool = True) -> dict[str, dict[str, Any]]:
    """Read a secrets file: only `[broker] password` and `[wifi] psk`, and only if nobody else can read it."""
    if not path.exists():
        raise ConfigError.one(path, None, "", "secrets file not found")
    if check_mode:
        _check_private(path)
    raw, lines = _read_toml(path)
    issues: list[ConfigIssue] = []
    for section, value in raw.items():
        if not isinstance(value, dict):
            issues.append(ConfigIssue(path, lines.get((section,)), section, "expected a table such as [broker]"))
            continue
        for key in value:
            if (section, key) not in SECRET_KEYS:
                known = ", ".join(f"{s}.{k}" for s, k in sorted(SECRET_KEYS))
                issues.append(
                    ConfigIssue(path, lines.get((section, key)), f"{section}.{key}", f"not a secret ({known})")
                )
            elif not isinstance(value[key], str):
                issues.append(ConfigIssue(path, lines.get((section, key)), f"{section}.{key}", "must be a string"))
    if issues:
        raise ConfigError(issues)
    return raw


def _resolve(base: Path, value: Path | None) -> Path | None:
    return value if value is None or value.is_absolute() else (base / value)


def _resolve_paths(config: KioskConfig, base: Path) -> KioskConfig:
    paths = config.paths.model_copy(
        update={"database": _resolve(base, config.paths.database), "state_dir": _resolve(base, config.paths.state_dir)}
    )
    broker = config.broker.model_copy(
        update={
            "ca_file": _resolve(base, config.broker.ca_file),
            "client_cert": _resolve(base, config.broker.client_cert),
            "client_key": _resolve(base, config.broker.client_key),
        }
    )
    return config.model_copy(update={"paths": paths, "broker": broker})


def _validation_issues(
    path: Path, exc: ValidationError, lines: dict[tuple[str, ...], int], secrets_file: Path
) -> list[ConfigIssue]:
    issues = []
    for error in exc.errors():
        # Drop pydantic's union branch tags (e.g. 'int', 'str') that are not keys of the file.
        loc = tuple(str(p) for p in error["loc"] if not (isinstance(p, str) and p in {"int", "str", "function-after"}))
        key = ".".join(loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        secret = tuple(loc[:2]) in SECRET_KEYS
        if error["type"] == "extra_forbidden":
            message = "unknown key (misspelt, or not supported by this firmware)"
        elif error["type"] == "missing":
            message = "missing (required)"
        elif not secret and "input" in error and not isinstance(error["input"], dict):
            message = f"{message} (got {error['input']!r})"  # never echo a secret's value
        if secret:
            secret_lines = key_lines(secrets_file.read_text(encoding="utf-8")) if secrets_file.is_file() else {}
            issues.append(ConfigIssue(secrets_file, _line_for(secret_lines, loc), key, message))
        else:
            issues.append(ConfigIssue(path, _line_for(lines, loc), key, message))
    return issues


def load_config(path: Path, secrets_path: Path | None = None) -> KioskConfig:
    """Read, migrate and validate a config file, merge its secrets, resolve relative paths.

    Secrets come from `secrets_path`, else a systemd credential named `kiosk-secrets`, else `secrets.toml`
    beside the config (optional unless the config needs a secret, e.g. a broker user's password).
    """
    path = Path(path)
    raw, lines = _read_toml(path)
    for section, key in sorted(SECRET_KEYS):
        if isinstance(raw.get(section), dict) and key in raw[section]:
            raise ConfigError.one(
                path,
                lines.get((section, key)),
                f"{section}.{key}",
                "secrets do not belong in the config file; "
                f"move it to {SECRETS_FILENAME} (mode 0600) or a systemd credential",
            )
    try:
        raw, _from_version = migrate(raw)
    except MigrationError as exc:
        raise ConfigError.one(path, _line_for(lines, tuple(exc.key.split("."))), exc.key, exc.problem) from None

    if secrets_path is not None:
        secrets, secrets_file = load_secrets(secrets_path), secrets_path
    else:
        secrets_file, is_credential = default_secrets_path(path)
        secrets = load_secrets(secrets_file, check_mode=not is_credential) if secrets_file.exists() else {}
    for section, values in secrets.items():
        target = raw.setdefault(section, {})
        if isinstance(target, dict):
            target.update(values)

    broker = raw.get("broker")
    if isinstance(broker, dict) and broker.get("username") and not broker.get("password"):
        where = "which does not exist" if not secrets_file.exists() else "which has no [broker] password"
        raise ConfigError.one(
            path,
            _line_for(lines, ("broker", "username")),
            "broker.password",
            f"broker user '{broker['username']}' needs a password in the secrets file {secrets_file}, {where}",
        )
    try:
        config = KioskConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_issues(path, exc, lines, secrets_file)) from None
    config = _resolve_paths(config, path.parent.resolve())
    if config.device.id is None:
        from firmware_config.identity import read_device_id

        device_id = read_device_id(config.paths.state_dir)
        if device_id is not None:
            config = config.model_copy(update={"device": config.device.model_copy(update={"id": device_id})})
    return config
