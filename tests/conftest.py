"""Shared fixtures: a fresh demo store at a fixed instant; the broker, printer and display fixtures are plugins."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.adapters.store.engine import Store, open_store
from kiosk.demo.venue import DemoVenue, build_demo_venue, install_demo_venue

pytest_plugins = ["tests.fixtures.broker", "tests.fixtures.printer", "tests.fixtures.display"]

# A Saturday evening in Neuchâtel (19:00 local); demo performances are placed around it.
DEMO_NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


@pytest.fixture
def demo_now() -> datetime:
    return DEMO_NOW


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.sqlite"


@pytest.fixture
def demo_venue(db_path: Path) -> Iterator[tuple[Store, DemoVenue]]:
    """A real SQLite file holding the demo venue with 50 list tickets, built for DEMO_NOW."""
    store = open_store(db_path, create=True)
    venue = build_demo_venue(DEMO_NOW, 50, seed=3)
    install_demo_venue(store, venue, db_path.with_name("keys.json"), DEMO_NOW)
    yield store, venue
    store.close()
