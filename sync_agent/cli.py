"""`kiosk-sync`: the device's MQTT agent."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("kiosk-sync: not yet available in this build (see the sync issue)", file=sys.stderr)
    return 2
