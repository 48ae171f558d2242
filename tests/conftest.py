"""Shared fixtures: an app built from test settings and a client that runs its lifespan."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.feedback import migrate
from app.feedback.db import make_engine
from app.main import create_app
from tests.pg.cluster import run_async

pytest_plugins = ["tests.pg.fixtures"]
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fhir_fixtures"
SHARED = ROOT.parent / "shared"
EVALUATION_DATE = date(2026, 11, 23)


def load_fixture(relative: str) -> dict[str, Any]:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "evaluation_date": EVALUATION_DATE,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
            "log_json": True,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


async def _upgrade(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        settings = make_settings(**overrides)
        if settings.environment == "production":
            # Production never builds its schema at start-up: the deploy's
            # `benzo-cds db upgrade` step does, as here.
            run_async(_upgrade(settings))
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
