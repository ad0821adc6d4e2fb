"""Scanner test helpers: real signed ticket codes and generated frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.demo.venue import DemoVenue

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "barcodes"


def signed_code(venue: DemoVenue, verdict: str = "valid") -> str:
    return next(c for c, v in venue.expected if c.startswith("K1") and v == verdict)


def list_code(venue: DemoVenue, verdict: str = "valid") -> str:
    return next(c for c, v in venue.expected if not c.startswith("K1") and v == verdict)


@pytest.fixture(scope="session")
def a_signed_code() -> str:
    """A real ~150-character signed code (alphanumeric QR), without building a store."""
    from datetime import UTC, datetime

    from kiosk.demo.venue import build_demo_venue

    venue = build_demo_venue(datetime(2026, 11, 28, 18, 0, tzinfo=UTC), 4, seed=3)
    return signed_code(venue)
