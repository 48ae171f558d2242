"""Tables, engine and dialect-aware idempotent insert for feedback storage.

Tables are created at start-up by ``init_db`` (``CREATE TABLE IF NOT EXISTS`` semantics);
there is no migration tool yet, so a schema change needs a new table or a manual migration.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Arbitrary constant naming the "create tables" lock, so replicas starting together on
# PostgreSQL do not race each other's CREATE TABLE.
_PG_INIT_LOCK = 0x62656E7A6F


class UtcDateTime(TypeDecorator[datetime]):
    """Always-aware UTC datetimes; SQLite keeps no offset, so values are normalized first."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY.
_BigId = BigInteger().with_variant(Integer(), "sqlite")

feedback_table = Table(
    "feedback",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("service_id", String(128), nullable=False),
    Column("card_uuid", String(256), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_code", String(256), nullable=True),
    Column("override_system", String(1024), nullable=True),
    Column("override_display", String(1024), nullable=True),
    # Clinician free text: may contain patient data; never logged.
    Column("override_comment", Text, nullable=True),
    Column("outcome_timestamp", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    # A client may resend the same feedback; the repeat must not add a row.
    UniqueConstraint("service_id", "card_uuid", "outcome", "outcome_timestamp",
                     name="uq_feedback_item"),
    Index("ix_feedback_card_uuid", "card_uuid"),
)

issued_cards_table = Table(
    "issued_cards",
    metadata,
    Column("card_uuid", String(256), primary_key=True),
    Column("service_id", String(128), nullable=False),
    Column("rule_id", String(128), nullable=False),
    # HMAC-SHA256 of the patient id under settings.patient_hash_key; never the raw id.
    Column("patient_key", String(64), nullable=False),
    Column("drugs_key", String(1024), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Index("ix_issued_cards_patient_key", "patient_key"),
)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes concurrent writers
    # wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(settings: Settings) -> AsyncEngine:
    """Async engine for settings.database_url (sqlite+aiosqlite or postgresql+asyncpg)."""
    url = settings.database_url
    # Bound values include clinician comments: keep them out of SQLAlchemy logs and error text.
    if url.startswith("sqlite"):
        # aiosqlite logs every call with its arguments at DEBUG.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        engine = create_async_engine(url, hide_parameters=True,
                                     connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(url, hide_parameters=True, pool_pre_ping=True)


async def init_db(engine: AsyncEngine) -> None:
    """Create missing tables; safe when several workers start at once."""
    for attempt in range(3):
        try:
            async with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                       {"k": _PG_INIT_LOCK})
                await conn.run_sync(metadata.create_all)
            return
        except DBAPIError:
            # Another worker created a table between our check and our CREATE; look again.
            if attempt == 2:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))


def insert_ignoring_duplicates(dialect_name: str, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the engine's dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"feedback storage needs sqlite or postgresql, not {dialect_name}")
