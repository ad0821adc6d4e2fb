"""`kiosk-provision`: the technicians' command line (wizard, validate, show, firstboot, selftest, wifi)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    print("kiosk-provision: not yet available in this build (see the provisioning issue)", file=sys.stderr)
    return 2
