"""PostgreSQL for tests: CI's server (BENZO_CDS_TEST_POSTGRES_URL) or a throwaway cluster.

`database_url` runs a test once on an SQLite file and once on a fresh PostgreSQL database.
Locally, tests needing PostgreSQL skip with the reason when no server can be had; under CI
(CI set) they fail instead, so a missing server can never pass as green.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg.cluster import PgCluster, create_database, drop_database, unavailable_reason

PG_URL_ENV = "BENZO_CDS_TEST_POSTGRES_URL"


def _no_server(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of a PostgreSQL server (its `postgres` database) with rights to create databases."""
    given = os.environ.get(PG_URL_ENV)
    if given:
        yield given
        return
    reason = unavailable_reason()
    if reason:
        _no_server(reason)
    cluster = PgCluster().start()
    try:
        yield cluster.url
    finally:
        cluster.destroy()


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    url = create_database(pg_server)
    yield url
    drop_database(url)


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    """A private cluster this test may stop and start (the outage tests)."""
    reason = unavailable_reason()
    if reason:
        _no_server(reason)
    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend in turn."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    return f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
