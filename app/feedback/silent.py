"""Silent firings: cards of rules in silent mode, stored like issued cards but never shown.

Counted per distinct card uuid (patient + rule + drugs), the same unit as issued cards, so the
feedback report can put "would have been shown" beside "was shown" for every rule. Kept apart
from issued_cards: feedback and snoozes join to cards a clinician saw, and a rule switched
from silent to active must start its issued count at zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Column, Index, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.feedback import snooze
from app.feedback.db import UtcDateTime, metadata
from app.feedback.write_behind import WriteBehind

silent_cards_table = Table(
    "silent_cards",
    metadata,
    Column("card_uuid", String(256), primary_key=True),
    Column("service_id", String(128), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("indicator", String(16), nullable=False),
    # HMAC-SHA256 of the patient id under settings.patient_hash_key; never the raw id.
    Column("patient_key", String(64), nullable=False),
    Column("drugs_key", String(1024), nullable=False),
    Column("first_fired_at", UtcDateTime, nullable=False),
    Index("ix_silent_cards_rule_id", "rule_id"),
)


class SilentLedger:
    """Queues silent firings once per card uuid (EHRs call again and again for one chart).

    Like issued cards, written behind the answer in batches (write_behind): while the
    database is down nothing is written (the next firing of the card tries again) and no
    call waits for it.
    """

    def __init__(self, settings: Settings, writer: WriteBehind) -> None:
        self.settings, self.writer = settings, writer

    async def record(
        self, service_id: str, cards: Iterable[tuple[str, str, str, str, str]]
    ) -> None:
        """Queue (card_uuid, rule_id, indicator, patient_id, drugs_key); the first one wins."""
        now = datetime.now(UTC)
        self.writer.add(
            [
                {
                    "card_uuid": uuid,
                    "service_id": service_id,
                    "rule_id": rule,
                    "indicator": indicator,
                    "patient_key": snooze.patient_key(self.settings, patient_id),
                    "drugs_key": drugs,
                    "first_fired_at": now,
                }
                for uuid, rule, indicator, patient_id, drugs in cards
                if not self.writer.known(uuid)
            ]
        )


async def silent_counts(engine: AsyncEngine) -> dict[str, int]:
    """Distinct silent cards per rule."""
    query = select(silent_cards_table.c.rule_id, func.count()).group_by(
        silent_cards_table.c.rule_id
    )
    async with engine.connect() as conn:
        return {str(rule): int(count) for rule, count in (await conn.execute(query)).all()}
