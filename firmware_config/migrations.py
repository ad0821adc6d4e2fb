"""Config file migrations: each step turns the raw table of version N into version N+1, before validation.

Version 1 is the first provisioning layout: the printer as one `printer.address = "host:port"` string and the
idle timeout in minutes (`ui.idle_timeout_min`). Version 2 splits the address into host and port and counts
the timeout in seconds, which is what the UI timer takes. Add a step here, never edit an old one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from firmware_config.schema import CONFIG_VERSION
from kiosk.domain.errors import KioskError

Raw = dict[str, Any]


class MigrationError(KioskError, ValueError):
    """A raw config that no migration can bring to the current version; `key` names the culprit."""

    reason = "config_not_migratable"

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def _v1_to_v2(raw: Raw) -> Raw:
    printer = raw.get("printer")
    if isinstance(printer, dict) and "address" in printer:
        address = printer.pop("address")
        if not isinstance(address, str):
            raise MigrationError("printer.address", "must be a string 'host:port'")
        host, sep, port = address.rpartition(":")
        if not sep:
            host, port = address, "9100"
        if not host or not port.isdigit():
            raise MigrationError("printer.address", f"'{address}' is not 'host:port'")
        printer["host"], printer["port"] = host, int(port)
    ui = raw.get("ui")
    if isinstance(ui, dict) and "idle_timeout_min" in ui:
        minutes = ui.pop("idle_timeout_min")
        if isinstance(minutes, bool) or not isinstance(minutes, int | float):
            raise MigrationError("ui.idle_timeout_min", "must be a number of minutes")
        ui["idle_timeout_s"] = round(minutes * 60)
    return raw


# MIGRATIONS[n] turns version n into n + 1.
MIGRATIONS: dict[int, Callable[[Raw], Raw]] = {1: _v1_to_v2}


def migrate(raw: Raw) -> tuple[Raw, int]:
    """Return (raw table at CONFIG_VERSION, the version the file was written in). The input is not modified."""
    version = raw.get("version")
    if version is None:
        raise MigrationError("version", f"missing; add `version = {CONFIG_VERSION}` at the top of the file")
    if isinstance(version, bool) or not isinstance(version, int):
        raise MigrationError("version", f"must be a whole number, not {version!r}")
    if version > CONFIG_VERSION:
        raise MigrationError(
            "version", f"{version} was written by a newer firmware; this one reads up to {CONFIG_VERSION}"
        )
    if version < min(MIGRATIONS, default=CONFIG_VERSION):
        raise MigrationError("version", f"{version} is older than any known layout")
    result = copy.deepcopy(raw)
    for step in range(version, CONFIG_VERSION):
        result = MIGRATIONS[step](result)
        result["version"] = step + 1
    return result, version
