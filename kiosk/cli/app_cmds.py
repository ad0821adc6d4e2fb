"""Sub-commands of the app capability (registered by kiosk.cli)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """No sub-commands yet."""
