"""Feedback under concurrency: duplicates collapse to one row, distinct items all land."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.conftest import EVALUATION_DATE
from tests.trust.conftest import PV, feedback_body

FEEDBACK = f"{PV}/feedback"
CONCURRENT = 200


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = Settings(
        _env_file=None,
        evaluation_date=EVALUATION_DATE,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'concurrent.db'}",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as client:
            yield app, client


async def _post_all(
    client: httpx.AsyncClient, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    return list(await asyncio.gather(*(client.post(FEEDBACK, json=b) for b in bodies)))


async def test_same_item_posted_concurrently_is_stored_once(
    running: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = running
    body = feedback_body("card-concurrent-1", comment="duplicate delivery")
    responses = await _post_all(client, [body] * CONCURRENT)
    assert [r.status_code for r in responses] == [200] * CONCURRENT, {
        r.status_code: r.text for r in responses if r.status_code != 200
    }
    assert sum(r.json()["stored"] for r in responses) == 1
    rows = await app.state.cds.store.list_feedback()
    assert len(rows) == 1
    assert rows[0]["card_uuid"] == "card-concurrent-1"
    assert rows[0]["outcome"] == "overridden"


async def test_distinct_items_posted_concurrently_are_all_stored(
    running: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = running
    bodies = [feedback_body(f"card-{i:03d}") for i in range(CONCURRENT)]
    responses = await _post_all(client, bodies)
    assert [r.status_code for r in responses] == [200] * CONCURRENT, {
        r.status_code: r.text for r in responses if r.status_code != 200
    }
    assert all(r.json() == {"received": 1, "stored": 1} for r in responses)
    rows = await app.state.cds.store.list_feedback()
    assert sorted(r["card_uuid"] for r in rows) == [f"card-{i:03d}" for i in range(CONCURRENT)]


async def test_mixed_duplicates_and_distinct(running: tuple[FastAPI, httpx.AsyncClient]) -> None:
    # 50 items, each delivered 4 times, interleaved: 50 rows.
    app, client = running
    bodies = [feedback_body(f"mix-{i % 50:02d}") for i in range(CONCURRENT)]
    responses = await _post_all(client, bodies)
    assert all(r.status_code == 200 for r in responses)
    assert sum(r.json()["stored"] for r in responses) == 50
    assert len(await app.state.cds.store.list_feedback()) == 50
