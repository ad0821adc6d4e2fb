"""Shared helpers for the command line: JSON lines out, clear errors instead of tracebacks."""

from __future__ import annotations

import json
import sys
from typing import Any

from kiosk.domain.errors import KioskError


class CliError(KioskError):
    """An error the user can act on; printed as one line, exits non-zero."""

    reason = "command_failed"

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def emit(obj: Any) -> None:
    """Print one JSON object per line, flushed, so pipes and tests see it at once."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
