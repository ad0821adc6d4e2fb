"""Shared fixtures: the fixed instants tests run at, a fresh demo store built for one of them; broker, printer,
display, postgres and notify-socket fixtures are plugins.

No test may read the real clock. `frozen_now` is DEMO_NOW by default; a test or module marked
`@pytest.mark.all_dates` runs once per instant of FROZEN_INSTANTS (a Sunday, both Zurich DST switch days, New
Year's Eve one minute before midnight), and everything built from `frozen_now` (`demo_now`, `demo_venue`) follows.
`pytest -m all_dates --frozen-now 2027-06-15T23:45` runs them at other instants instead (e.g. today's).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.adapters.store.engine import Store, open_store
from kiosk.adapters.store.identity import claim_store
from kiosk.demo.venue import DemoVenue, build_demo_venue, install_demo_venue
from kiosk.domain.timeutil import VENUE_TZ, parse_instant

pytest_plugins = [
    "tests.fixtures.broker",
    "tests.fixtures.printer",
    "tests.fixtures.display",
    "tests.fixtures.postgres",
    "tests.fixtures.notify",
]

# A Saturday evening in Neuchâtel (19:00 local); demo performances are placed around it.
DEMO_NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)

# The instants date-sensitive tests run under (venue local time; the ids name them in test names).
FROZEN_INSTANTS: dict[str, datetime] = {
    "2026-11-29-sunday-19h00": datetime(2026, 11, 29, 19, 0, tzinfo=VENUE_TZ),
    # 02:00 CET jumps to 03:00 CEST: "today's" performance 30 min later starts after the gap
    "2027-03-28-dst-starts-01h45": datetime(2027, 3, 28, 1, 45, tzinfo=VENUE_TZ),
    # 03:00 CEST falls back to 02:00 CET: 02:30 happens twice, this is the first (summer) one
    "2027-10-31-dst-ends-02h30": datetime(2027, 10, 31, 2, 30, tzinfo=VENUE_TZ, fold=0),
    # one minute before the venue's new year: "today's" performance starts next year
    "2027-12-31-23h59": datetime(2027, 12, 31, 23, 59, tzinfo=VENUE_TZ),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--frozen-now",
        action="append",
        default=[],
        metavar="ISO",
        help="run the all_dates tests at this instant instead of FROZEN_INSTANTS (repeatable; no offset = Zurich)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "all_dates: run once per instant of FROZEN_INSTANTS (via `frozen_now`)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("all_dates") and "frozen_now" in metafunc.fixturenames:
        given: list[str] = metafunc.config.getoption("frozen_now")
        chosen = {f"at-{text}": parse_instant(text) for text in given} if given else FROZEN_INSTANTS
        instants = [at.astimezone(UTC) for at in chosen.values()]
        metafunc.parametrize("frozen_now", instants, ids=list(chosen), indirect=True)


@pytest.fixture
def frozen_now(request: pytest.FixtureRequest) -> datetime:
    """The instant the test runs at (UTC): DEMO_NOW, or each of FROZEN_INSTANTS under `all_dates`."""
    at: datetime = getattr(request, "param", DEMO_NOW)
    return at


@pytest.fixture
def demo_now(frozen_now: datetime) -> datetime:
    return frozen_now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "kiosk.sqlite"


@pytest.fixture
def demo_venue(db_path: Path, frozen_now: datetime) -> Iterator[tuple[Store, DemoVenue]]:
    """A real SQLite file holding the demo venue with 50 list tickets, built for `frozen_now`."""
    store = open_store(db_path, create=True)
    claim_store(store, "door-a", "lac", now=frozen_now, claimed_by="demo-data", role="both")  # as `kiosk demo-data`
    venue = build_demo_venue(frozen_now, 50, seed=3)
    install_demo_venue(store, venue, db_path.with_name("keys.json"), frozen_now)
    yield store, venue
    store.close()
