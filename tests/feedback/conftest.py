"""Fixtures: a fresh SQLite database per test (or PostgreSQL when a test URL is given)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.config import Settings
from app.feedback.db import init_db, make_engine
from app.feedback.store import FeedbackStore

# Set to e.g. postgresql+asyncpg://user@localhost/benzo_test to run the same tests on PostgreSQL.
PG_URL = os.environ.get("BENZO_CDS_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = PG_URL if request.param == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/fb.db"
    return Settings(database_url=url, patient_hash_key="test-key-0123456789", snooze_days=90)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[FeedbackStore]:
    engine = make_engine(settings)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS feedback, issued_cards"))
    await init_db(engine)
    yield FeedbackStore(engine, settings)
    await engine.dispose()
