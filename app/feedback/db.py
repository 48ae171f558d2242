"""Tables, engine and dialect-aware idempotent insert for the service's database.

The tables here describe the schema; Alembic migrations (app/feedback/migrations) create and
change it, and a test checks that the two agree.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# Connections older than this are replaced before use, ahead of idle timeouts in firewalls and
# poolers that would otherwise cut them silently.
_POOL_RECYCLE_SECONDS = 300


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
    UniqueConstraint(
        "service_id", "card_uuid", "outcome", "outcome_timestamp", name="uq_feedback_item"
    ),
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

jwt_replay_table = Table(
    "jwt_replay",
    metadata,
    # SHA-256 of (iss, jti): a fixed-size key, and no token material at rest.
    Column("token_key", String(64), primary_key=True),
    Column("expires_at", Double(), nullable=False),  # epoch seconds, exp + leeway
    Index("ix_jwt_replay_expires_at", "expires_at"),
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
        engine = create_async_engine(
            url, hide_parameters=True, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    timeout = settings.database_timeout_seconds
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql+asyncpg"):
        # The driver gives up first (connect, then each statement), so a dead or unreachable
        # server costs at most these seconds and the connection is discarded cleanly.
        connect_args = {"timeout": timeout, "command_timeout": timeout}
    # No pre-ping: it costs a round trip on every checkout, i.e. on every hook call. A pooled
    # connection that died with the server fails its first statement instead, the pool is
    # invalidated, and Availability.run retries that operation once on a fresh connection.
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_pre_ping=False,
        pool_recycle=_POOL_RECYCLE_SECONDS,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=timeout,
        connect_args=connect_args,
    )


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same pool for single-statement reads without BEGIN/ROLLBACK round trips."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def insert_ignoring_duplicates(dialect_name: str, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the engine's dialect."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"feedback storage needs sqlite or postgresql, not {dialect_name}")
