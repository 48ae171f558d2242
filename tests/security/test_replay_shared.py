"""The database replay store: one (iss, jti) accepted once across processes, on SQLite and
PostgreSQL; expired claims purged; the process cache only ever refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.feedback import migrate
from app.feedback.availability import Availability
from app.feedback.db import jwt_replay_table, make_engine
from app.security.replay_db import DatabaseReplayStore, token_key

T0 = 1_800_000_000.0


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


def replica(engine: AsyncEngine) -> DatabaseReplayStore:
    """A replay store as one worker process holds it (its own cache and availability)."""
    return DatabaseReplayStore(engine, Availability(retry_seconds=1.0), timeout=5.0)


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(jwt_replay_table))).scalar_one()
        )


async def test_a_jti_accepted_by_one_replica_is_refused_by_another(engine: AsyncEngine) -> None:
    first, second = replica(engine), replica(engine)
    assert await first.add_if_new("https://ehr", "jti-1", T0 + 300, T0)
    assert not await second.add_if_new("https://ehr", "jti-1", T0 + 300, T0 + 1)
    assert not await first.add_if_new("https://ehr", "jti-1", T0 + 300, T0 + 2)
    # Another issuer's jti of the same value is another token.
    assert await second.add_if_new("https://other-ehr", "jti-1", T0 + 300, T0 + 3)
    # Once expired the token is dead anyway, and the pair may be claimed again.
    assert await second.add_if_new("https://ehr", "jti-1", T0 + 900, T0 + 300)
    assert not await first.add_if_new("https://ehr", "jti-1", T0 + 900, T0 + 301)


async def test_concurrent_claims_accept_exactly_one(engine: AsyncEngine) -> None:
    replicas = [replica(engine) for _ in range(4)]
    results = await asyncio.gather(
        *(replicas[i % 4].add_if_new("https://ehr", "raced", T0 + 300, T0) for i in range(40))
    )
    assert results.count(True) == 1


async def test_expired_claims_are_purged(engine: AsyncEngine) -> None:
    store = replica(engine)
    for i in range(10):
        assert await store.add_if_new("https://ehr", f"old-{i}", T0 + 10, T0)
    assert await rows(engine) == 10
    later = replica(engine)  # a fresh process purges on its first claim
    assert await later.add_if_new("https://ehr", "new", T0 + 400, T0 + 100)
    assert await rows(engine) == 1


async def test_the_process_cache_never_accepts_what_the_database_refused(
    engine: AsyncEngine,
) -> None:
    first, second = replica(engine), replica(engine)
    assert await first.add_if_new("https://ehr", "j", T0 + 300, T0)
    assert not await second.add_if_new("https://ehr", "j", T0 + 300, T0)
    assert not await second.add_if_new("https://ehr", "j", T0 + 300, T0 + 1)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(jwt_replay_table.c.token_key))).scalars().all()
    assert stored == [token_key("https://ehr", "j")]  # a hash, not the jti itself


async def test_database_down_falls_back_to_the_process_cache(engine: AsyncEngine) -> None:
    store = replica(engine)
    store._availability.mark_down("OperationalError")
    # Cards keep coming: the token is accepted on this process's word alone...
    assert await store.add_if_new("https://ehr", "during-outage", T0 + 300, T0)
    # ...which still refuses a replay to this process.
    assert not await store.add_if_new("https://ehr", "during-outage", T0 + 300, T0 + 1)


def test_token_key_separates_iss_from_jti() -> None:
    assert token_key("ab", "c") != token_key("a", "bc")
    assert len(token_key("https://ehr", "x" * 512)) == 64
