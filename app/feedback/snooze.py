"""Snooze: a card overridden with a snooze reason stays quiet for settings.snooze_days.

A card for rule R showing drugs K to patient P is suppressed when a card for (R, K) was
overridden for P within the window with the cards' own "snooze-3-months" reason or a code in
settings.snooze_reasons. Any other override, and a bare dismissal (the CDS Hooks Sandbox's plain
"Dismiss" sends no reason), is recorded but snoozes nothing: a click must not hide a danger for
three months by accident. A new drug changes K, so the card comes back.
The 90-day default follows the CDC opioid CDS override-reason snooze (3 months).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import BindParameter, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cards.common import SNOOZE_3_MONTHS
from app.config import Settings
from app.feedback.db import feedback_table, issued_cards_table


def drugs_key(ingredients_or_names: Iterable[str]) -> str:
    """Order-free fingerprint of the drugs a card is about: sorted, lower-cased, '+'-joined."""
    names = {name.strip().lower() for name in ingredients_or_names if name and name.strip()}
    return "+".join(sorted(names))


def patient_key(settings: Settings, patient_id: str) -> str:
    """HMAC-SHA256 of the patient id: joinable across calls, useless without the key."""
    secret = settings.patient_hash_key.get_secret_value().encode("utf-8")
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()


def snooze_codes(settings: Settings) -> frozenset[str]:
    """Override reason codes that snooze; matched on the code alone (the Sandbox drops system)."""
    return frozenset({SNOOZE_3_MONTHS.code, *settings.snooze_reasons})


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class SnoozeQuery:
    """The per-call snooze read, built once: each call only binds the patient key and cutoff.

    Building the select per call (and an expanding IN, re-rendered on every execution) cost
    about as much Python as the database's answer; fixed bind parameters give one compiled
    statement, and one prepared statement per connection on PostgreSQL.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        fb, issued = feedback_table, issued_cards_table
        codes: list[BindParameter[str]] = [
            bindparam(f"code_{i}", value=code)
            for i, code in enumerate(sorted(snooze_codes(settings)))
        ]
        self.query = (
            select(issued.c.rule_id, issued.c.drugs_key, fb.c.outcome_timestamp, fb.c.received_at)
            .join(fb, fb.c.card_uuid == issued.c.card_uuid)
            .where(
                and_(
                    issued.c.patient_key == bindparam("patient_key"),
                    fb.c.outcome == "overridden",
                    fb.c.override_code.in_(codes),
                    fb.c.outcome_timestamp
                    >= bindparam("cutoff", type_=fb.c.outcome_timestamp.type),
                )
            )
        )

    async def run(self, engine: AsyncEngine, patient_id: str, now: datetime) -> dict[str, set[str]]:
        """rule_id -> drugs_keys snoozed for this patient within the window ending now.

        One indexed read (issued_cards by patient key, feedback by card uuid), made on every
        hook call that shows cards, so an override stored by any replica counts from the next
        call on.
        """
        now = as_utc(now)
        cutoff = now - timedelta(days=self.settings.snooze_days)
        params = {"patient_key": patient_key(self.settings, patient_id), "cutoff": cutoff}
        async with engine.connect() as conn:
            rows = (await conn.execute(self.query, params)).all()
        snoozed: dict[str, set[str]] = {}
        for rule_id, key, outcome_at, received_at in rows:
            # The client's clock is trusted only up to our own: a future outcomeTimestamp
            # must not stretch the snooze beyond the window.
            effective = min(outcome_at, received_at)
            if cutoff <= effective <= now:
                snoozed.setdefault(rule_id, set()).add(key)
        return snoozed


async def snoozed_rules(
    engine: AsyncEngine, settings: Settings, patient_id: str, now: datetime
) -> dict[str, set[str]]:
    """rule_id -> drugs_keys snoozed for this patient within the window ending now."""
    return await SnoozeQuery(settings).run(engine, patient_id, now)


def is_snoozed(snoozed: dict[str, set[str]], rule_id: str, key: str) -> bool:
    return key in snoozed.get(rule_id, set())
