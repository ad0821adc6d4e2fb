"""`kiosk-central`: the central side of the sync protocol."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("kiosk-central: not yet available in this build (see the sync issue)", file=sys.stderr)
    return 2
