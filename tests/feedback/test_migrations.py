"""Alembic migrations: they build the schema the code describes, adopt pre-Alembic databases,
and production refuses an older schema while development upgrades by itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Connection, inspect, select

from app.config import Settings
from app.feedback import migrate
from app.feedback.db import feedback_table, issued_cards_table, make_engine, metadata
from app.main import create_app

ALL_TABLES = {"feedback", "issued_cards", "jwt_replay", "silent_cards", "alembic_version"}


def _settings(url: str, **overrides: Any) -> Settings:
    return Settings(_env_file=None, database_url=url, **overrides)  # type: ignore[call-arg]


async def test_upgrade_builds_every_table_and_matches_the_code(database_url: str) -> None:
    engine = make_engine(_settings(database_url))
    try:
        assert (await migrate.schema_state(engine)).current is None
        before, after = await migrate.upgrade(engine)
        assert (before, after) == (None, migrate.head_revision())

        def diff(conn: Connection) -> list[Any]:
            return compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )

        async with engine.connect() as conn:
            assert set(await conn.run_sync(lambda c: inspect(c).get_table_names())) == ALL_TABLES
            # The tables the code uses are exactly the tables the migrations make.
            assert await conn.run_sync(diff) == []
        assert (await migrate.schema_state(engine)).up_to_date
        assert await migrate.upgrade(engine) == (after, after)  # a second run changes nothing
    finally:
        await engine.dispose()


async def test_a_database_from_before_migrations_is_adopted_with_its_rows(
    database_url: str,
) -> None:
    engine = make_engine(_settings(database_url))
    try:
        # What earlier releases did at start-up: CREATE TABLE for feedback and issued_cards.
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: metadata.create_all(c, tables=[feedback_table, issued_cards_table])
            )
            await conn.execute(
                issued_cards_table.insert().values(
                    card_uuid="u1",
                    service_id="svc",
                    rule_id="taper-plan",
                    patient_key="k" * 64,
                    drugs_key="alprazolam",
                    issued_at=datetime.now(UTC),
                )
            )
        state = await migrate.schema_state(engine)
        assert state.current == migrate.BASELINE and state.behind
        assert await migrate.upgrade(engine) == (migrate.BASELINE, migrate.head_revision())
        async with engine.connect() as conn:
            assert (await conn.execute(select(issued_cards_table.c.card_uuid))).scalars().all() == [
                "u1"
            ]
    finally:
        await engine.dispose()


async def _at_baseline(url: str) -> None:
    engine = make_engine(_settings(url))
    try:
        await migrate.upgrade(engine)

        def downgrade(conn: Connection) -> None:
            from alembic import command

            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = conn
            try:
                command.downgrade(cfg, migrate.BASELINE)
            finally:
                cfg.attributes.pop("connection")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
    finally:
        await engine.dispose()


async def test_production_refuses_an_older_schema_in_one_line(database_url: str) -> None:
    await _at_baseline(database_url)
    engine = make_engine(_settings(database_url))
    try:
        with pytest.raises(migrate.SchemaOutOfDate) as refused:
            await migrate.prepare(engine, environment="production")
        message = str(refused.value)
        assert "\n" not in message
        assert "behind" in message and "`benzo-cds db upgrade`" in message
        # Development brings the same database up by itself.
        state = await migrate.prepare(engine, environment="development")
        assert state.up_to_date
    finally:
        await engine.dispose()


def test_production_start_up_names_the_command(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    from tests.pg.cluster import run_async

    run_async(_at_baseline(url))
    settings = make_settings(
        database_url=url,
        environment="production",
        patient_hash_key="a-real-secret-0123456789-abcdefghij",
        trusted_issuers=[
            {"iss": "https://ehr.example.org", "jwks_file": str(tmp_path / "jwks.json")}
        ],
    )
    with pytest.raises(RuntimeError) as refused, TestClient(create_app(settings)):
        pass
    assert str(refused.value) == (
        "Refusing to start in production: database schema is revision 0001, behind this "
        f"release's {migrate.head_revision()}; run `benzo-cds db upgrade`"
    )


def test_development_creates_the_sqlite_file_by_itself(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    path = tmp_path / "fresh" / "benzo.db"
    path.parent.mkdir()
    client = make_client(database_url=f"sqlite+aiosqlite:///{path}")
    assert client.get("/health").json()["database"] == "ok"
    db = sqlite3.connect(path)
    try:
        versions = [row[0] for row in db.execute("SELECT version_num FROM alembic_version")]
    finally:
        db.close()
    assert versions == [migrate.head_revision()]


async def test_production_starts_on_a_newer_schema_during_a_rolling_deploy(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(_settings(database_url))
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:  # a later release migrated first
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        state = await migrate.prepare(engine, environment="production")
        assert (state.current, state.known, state.behind) == ("9999", False, False)
        assert "newer than this release knows" in caplog.text
    finally:
        await engine.dispose()
