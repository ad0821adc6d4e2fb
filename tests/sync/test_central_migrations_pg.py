"""Central's migrations on the suite's own PostgreSQL (tests/fixtures/postgres.py): a fresh database to head and
again, a first-release database adopted with its rows, instances starting together migrating it once."""

from __future__ import annotations

import pytest

from tests.sync.test_central_migrations import check_concurrent_first_start, check_first_release_adopted, check_fresh

pytestmark = pytest.mark.postgres


def test_a_fresh_postgresql_database_migrates_to_head_and_re_running_changes_nothing(pg_url: str) -> None:
    check_fresh(pg_url)


def test_a_first_release_postgresql_database_is_adopted_with_its_rows(pg_url: str) -> None:
    check_first_release_adopted(pg_url)


def test_instances_starting_together_on_a_new_postgresql_database(pg_url: str) -> None:
    check_concurrent_first_start(pg_url)
