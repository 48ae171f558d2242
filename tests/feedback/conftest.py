"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL (see tests/pg/fixtures.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.config import Settings
from app.feedback.db import make_engine
from app.feedback.store import FeedbackStore
from tests.cli.conftest import run_cli  # noqa: F401  (the CLI tests' fixture, for the report)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,  # type: ignore[call-arg]
        patient_hash_key="test-key-0123456789",
        snooze_days=90,
    )


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[FeedbackStore]:
    engine = make_engine(settings)
    store = FeedbackStore(engine, settings)
    await store.init()  # as at start-up: development brings the schema up
    yield store
    await engine.dispose()
