"""FeedbackStore: the one object the API uses to persist feedback and issued cards."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.feedback import report as report_module
from app.feedback import snooze
from app.feedback.db import (
    feedback_table,
    init_db,
    insert_ignoring_duplicates,
    issued_cards_table,
)
from app.feedback.models import FeedbackItem

log = logging.getLogger(__name__)
_STORED_CAP = 100_000


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
        self.settings = settings
        # Patient keys with any override on record, so the hot path asks the database only for
        # patients who have one (overrides are rare next to hook calls). Reloaded every
        # settings.snooze_cache_seconds, at once after feedback reaches this process; another
        # worker's override is seen within that interval.
        self._overridden: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        self._generation = 0  # bumped by local overrides; a reload that raced one is discarded
        self._reload = asyncio.Lock()
        self._stored: OrderedDict[str, None] = OrderedDict()  # card uuids already written

    async def init(self) -> None:
        """Create missing tables (start-up)."""
        await init_db(self.engine)

    async def ping(self) -> str:
        """'ok' when the database answers, else the error type (for /health)."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:  # noqa: BLE001 - health reports any failure
            return type(error).__name__
        return "ok"

    async def record_feedback(self, service_id: str, items: list[FeedbackItem]) -> int:
        """Store feedback items; repeats are ignored. Returns how many rows were new."""
        if not items:
            return 0
        received_at = datetime.now(UTC)
        rows = list({_row_key(row): row for row in
                     (_feedback_row(service_id, item, received_at) for item in items)}.values())
        async with self.engine.begin() as conn:
            stmt = insert_ignoring_duplicates(conn.dialect.name, feedback_table)
            result = await conn.execute(stmt.returning(feedback_table.c.id), rows)
            stored = len(result.all())
        if any(item.outcome == "overridden" for item in items):
            self._loaded_at = None  # this process sees its own overrides at once
            self._generation += 1
        log.info("feedback stored", extra={"service_id": service_id, "received": len(items),
                                           "stored": stored})
        return stored

    async def list_feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored feedback rows, oldest first (for reports and tests)."""
        query = select(feedback_table).order_by(feedback_table.c.id)
        if service_id is not None:
            query = query.where(feedback_table.c.service_id == service_id)
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def record_issued(self, service_id: str, cards: Iterable[IssuedCard]) -> None:
        """Remember which rule and drugs each card uuid stood for; the first issue wins."""
        # Card uuids are deterministic, and EHRs call again and again for the same chart: a
        # uuid this process has stored once needs no second write.
        cards = [c for c in cards if c.card_uuid not in self._stored]
        if not cards:
            return
        issued_at = datetime.now(UTC)
        rows = {card.card_uuid: {
            "card_uuid": card.card_uuid, "service_id": service_id, "rule_id": card.rule_id,
            "patient_key": snooze.patient_key(self.settings, card.patient_id),
            "drugs_key": card.drugs_key, "issued_at": issued_at,
        } for card in cards}
        if not rows:
            return
        async with self.engine.begin() as conn:
            stmt = insert_ignoring_duplicates(conn.dialect.name, issued_cards_table)
            await conn.execute(stmt, list(rows.values()))
        for card_id in rows:
            self._stored[card_id] = None
            if len(self._stored) > _STORED_CAP:
                self._stored.popitem(last=False)

    async def snoozed_rules(self, patient_id: str, now: datetime) -> dict[str, set[str]]:
        """rule_id -> drugs_keys overridden for this patient within settings.snooze_days."""
        return await snooze.snoozed_rules(self.engine, self.settings, patient_id, now)

    async def snoozed_rules_cached(self, patient_id: str, now: datetime
                                   ) -> dict[str, set[str]]:
        """As snoozed_rules, skipping the database for patients with no override at all."""
        loaded = self._loaded_at
        if loaded is None or time.monotonic() - loaded > self.settings.snooze_cache_seconds:
            async with self._reload:
                if self._loaded_at is loaded:
                    generation = self._generation
                    keys = await snooze.overridden_patient_keys(self.engine)
                    self._overridden = keys
                    if generation == self._generation:
                        self._loaded_at = time.monotonic()
        if snooze.patient_key(self.settings, patient_id) not in self._overridden:
            return {}
        return await self.snoozed_rules(patient_id, now)

    async def report(self) -> list[report_module.RuleStats]:
        return await report_module.rule_report(self.engine)


def _feedback_row(service_id: str, item: FeedbackItem, received_at: datetime) -> dict[str, Any]:
    reason = item.overrideReason
    coding = reason.reason if reason else None
    return {
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "accepted_suggestions": ([s.id for s in item.acceptedSuggestions]
                                 if item.acceptedSuggestions else None),
        "override_code": coding.code if coding else None,
        "override_system": coding.system if coding else None,
        "override_display": coding.display if coding else None,
        "override_comment": reason.userComment if reason else None,
        "outcome_timestamp": item.outcomeTimestamp,
        "received_at": received_at,
    }


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["service_id"], row["card_uuid"], row["outcome"], row["outcome_timestamp"]
