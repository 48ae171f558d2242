"""FeedbackStore: the one object the API uses to persist feedback and issued cards."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.feedback import migrate, snooze
from app.feedback import report as report_module
from app.feedback.availability import DATABASE_ERRORS, Availability, DatabaseUnavailable
from app.feedback.db import (
    feedback_table,
    insert_ignoring_duplicates,
    issued_cards_table,
    reader,
)
from app.feedback.models import FeedbackItem
from app.feedback.silent import SilentLedger, silent_cards_table
from app.feedback.write_behind import WriteBehind

log = logging.getLogger(__name__)
# A batch is written at once when this many cards wait (one INSERT of ~500 rows stays well
# under both drivers' parameter limits); past _QUEUED_MAX, cards are not queued (metric).
_BATCH_ROWS = 500
_QUEUED_MAX = 10_000


@dataclass(frozen=True)
class IssuedCard:
    """A card we returned; patient_id is hashed before it is stored."""

    card_uuid: str
    rule_id: str
    patient_id: str
    drugs_key: str


class FeedbackStore:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self._reader = reader(engine)
        self.settings = settings
        self.availability = Availability(retry_seconds=settings.database_retry_seconds)
        self.availability.on_contact = self._check_schema
        self.issued = self._writer(issued_cards_table)
        self.silent = SilentLedger(settings, self._writer(silent_cards_table))
        self._snooze_query = snooze.SnoozeQuery(settings)

    def _writer(self, table: Table) -> WriteBehind:
        return WriteBehind(
            self.engine,
            table,
            self.availability,
            timeout=self.bound_seconds,
            flush_seconds=self.settings.card_write_delay_ms / 1000,
            batch_rows=_BATCH_ROWS,
            max_rows=_QUEUED_MAX,
        )

    @property
    def bound_seconds(self) -> float:
        """Longest wait for a write or /health: a little over the driver's own timeouts, so a
        dead server is reported (and marked down) by the driver before this bound cuts in."""
        return self.settings.database_timeout_seconds + 1.0

    async def init(self) -> None:
        """Start-up: bring the schema up (development) or check it (production).

        Raises migrate.SchemaOutOfDate in production against an older schema. A database that
        does not answer does not stop the start: it is checked when it first answers.
        """
        try:
            await migrate.prepare(self.engine, environment=self.settings.environment)
        except DATABASE_ERRORS as error:
            log.warning(
                "database unavailable at start-up (%s); its schema is checked when it answers",
                type(error).__name__,
            )
            # Fail fast from the first call rather than wait on a known-dead database.
            self.availability.mark_down(type(error).__name__)
            return
        self.availability.mark_checked()

    async def _check_schema(self) -> None:
        try:
            await migrate.prepare(self.engine, environment=self.settings.environment)
        except migrate.SchemaOutOfDate as error:
            log.error("database not used: %s", error)
            raise DatabaseUnavailable("schema-out-of-date") from None

    async def ping(self) -> str:
        """'ok' when the database answers, else 'unavailable' (for /health)."""
        try:
            await self.availability.run(self._select_one, force=True, timeout=self.bound_seconds)
        except DatabaseUnavailable:
            return "unavailable"
        return "ok"

    async def _select_one(self) -> None:
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def record_feedback(self, service_id: str, items: list[FeedbackItem]) -> int:
        """Store feedback items, all or none; repeats are ignored. Returns how many were new.

        Raises DatabaseUnavailable (503) when the database does not answer in time; the
        transaction then commits nothing, and a retry of the same items is idempotent.
        """
        if not items:
            return 0
        # A card this worker answered moments ago may still be queued: written first, the
        # feedback is attributed to it from the very next read on any replica.
        await self.flush_issued()
        received_at = datetime.now(UTC)
        rows = list(
            {
                _row_key(row): row
                for row in (_feedback_row(service_id, item, received_at) for item in items)
            }.values()
        )

        async def insert() -> int:
            async with self.engine.begin() as conn:
                stmt = insert_ignoring_duplicates(conn.dialect.name, feedback_table)
                result = await conn.execute(stmt.returning(feedback_table.c.id), rows)
                return len(result.all())

        stored = await self.availability.run(insert, timeout=self.bound_seconds)
        log.info(
            "feedback stored",
            extra={"service_id": service_id, "received": len(items), "stored": stored},
        )
        return stored

    async def list_feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored feedback rows, oldest first (for reports and tests)."""
        query = select(feedback_table).order_by(feedback_table.c.id)
        if service_id is not None:
            query = query.where(feedback_table.c.service_id == service_id)
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def record_issued(self, service_id: str, cards: Iterable[IssuedCard]) -> None:
        """Remember which rule and drugs each card uuid stood for; the first issue wins.

        Runs after the answer is sent and only queues the rows: they are written together
        within settings.card_write_delay_ms (see write_behind). While the database is down
        nothing is stored and the next call showing the same card tries again.
        """
        issued_at = datetime.now(UTC)
        self.issued.add(
            [
                {
                    "card_uuid": card.card_uuid,
                    "service_id": service_id,
                    "rule_id": card.rule_id,
                    "patient_key": snooze.patient_key(self.settings, card.patient_id),
                    "drugs_key": card.drugs_key,
                    "issued_at": issued_at,
                }
                for card in cards
                if not self.issued.known(card.card_uuid)
            ]
        )

    async def flush_issued(self) -> None:
        """Write every queued issued and silent card now (feedback, shutdown, tests)."""
        await self.issued.drain()
        await self.silent.writer.drain()

    async def aclose(self) -> None:
        """Shutdown: what is queued is written (bounded by the write timeout per batch)."""
        await self.issued.aclose()
        await self.silent.writer.aclose()

    async def record_silent(
        self, service_id: str, cards: Iterable[IssuedCard], indicators: dict[str, str]
    ) -> None:
        """Remember cards of silent rules (never shown); indicators by card uuid."""
        await self.silent.record(
            service_id,
            [
                (
                    c.card_uuid,
                    c.rule_id,
                    indicators.get(c.card_uuid, "unknown"),
                    c.patient_id,
                    c.drugs_key,
                )
                for c in cards
            ],
        )

    async def snoozed_rules(self, patient_id: str, now: datetime) -> dict[str, set[str]]:
        """rule_id -> drugs_keys snoozed for this patient within settings.snooze_days."""
        return await snooze.snoozed_rules(self.engine, self.settings, patient_id, now)

    async def active_snoozes(self, patient_id: str, now: datetime) -> dict[str, set[str]]:
        """As snoozed_rules, for a hook call: bounded by settings.snooze_lookup_timeout_seconds.

        Raises DatabaseUnavailable at once while the database is known to be down.
        """
        return await self.availability.run(
            lambda: self._snooze_query.run(self._reader, patient_id, now),
            timeout=self.settings.snooze_lookup_timeout_seconds,
        )

    async def report(self) -> list[report_module.RuleStats]:
        return await report_module.rule_report(self.engine)


def _feedback_row(service_id: str, item: FeedbackItem, received_at: datetime) -> dict[str, Any]:
    reason = item.overrideReason
    coding = reason.reason if reason else None
    return {
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "accepted_suggestions": (
            [s.id for s in item.acceptedSuggestions] if item.acceptedSuggestions else None
        ),
        "override_code": coding.code if coding else None,
        "override_system": coding.system if coding else None,
        "override_display": coding.display if coding else None,
        "override_comment": reason.userComment if reason else None,
        "outcome_timestamp": item.outcomeTimestamp,
        "received_at": received_at,
    }


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["service_id"], row["card_uuid"], row["outcome"], row["outcome_timestamp"]
