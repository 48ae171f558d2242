"""Feedback storage: round trip, idempotency, concurrency and the hashed patient key."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Table, func, select

from app.config import Settings
from app.feedback import migrate
from app.feedback.db import feedback_table, issued_cards_table
from app.feedback.models import FeedbackItem, parse_feedback
from app.feedback.snooze import patient_key
from app.feedback.store import FeedbackStore, IssuedCard

COMMENT = "Pt Jane Roe on this since 2019, discussed with her"


def items(*specs: tuple[str, str, str]) -> list[FeedbackItem]:
    """(card, outcome, timestamp) triples as parsed feedback items."""
    body = []
    for card, outcome, stamp in specs:
        item: dict[str, object] = {"card": card, "outcome": outcome, "outcomeTimestamp": stamp}
        if outcome == "accepted":
            item["acceptedSuggestions"] = [{"id": f"{card}-s1"}, {"id": f"{card}-s2"}]
        else:
            item["overrideReason"] = {
                "reason": {"code": "benefit-outweighs-risk", "display": "Benefit outweighs risk"},
                "userComment": COMMENT,
            }
        body.append(item)
    return parse_feedback({"feedback": body})


async def count_rows(store: FeedbackStore, table: Table = feedback_table) -> int:
    async with store.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def test_store_and_read_back(store: FeedbackStore) -> None:
    new = await store.record_feedback(
        "benzo-patient-view",
        items(
            ("card-a", "accepted", "2024-03-01T10:00:00Z"),
            ("card-b", "overridden", "2024-03-01T11:00:00+01:00"),
        ),
    )
    assert new == 2
    rows = await store.list_feedback()
    assert [r["card_uuid"] for r in rows] == ["card-a", "card-b"]
    accepted, overridden = rows
    assert accepted["service_id"] == "benzo-patient-view"
    assert accepted["outcome"] == "accepted"
    assert accepted["accepted_suggestions"] == ["card-a-s1", "card-a-s2"]
    assert accepted["override_code"] is None and accepted["override_comment"] is None
    assert accepted["outcome_timestamp"] == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert overridden["outcome_timestamp"] == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert overridden["override_code"] == "benefit-outweighs-risk"
    assert overridden["override_system"] is None
    assert overridden["override_display"] == "Benefit outweighs risk"
    assert overridden["override_comment"] == COMMENT
    assert overridden["accepted_suggestions"] is None
    received = overridden["received_at"]
    assert received.tzinfo is not None
    assert abs(datetime.now(UTC) - received) < timedelta(minutes=1)


async def test_list_feedback_filters_by_service(store: FeedbackStore) -> None:
    await store.record_feedback("svc-1", items(("a", "accepted", "2024-01-01T00:00:00Z")))
    await store.record_feedback("svc-2", items(("b", "accepted", "2024-01-01T00:00:00Z")))
    assert [r["card_uuid"] for r in await store.list_feedback("svc-2")] == ["b"]
    assert len(await store.list_feedback()) == 2


async def test_repeat_is_idempotent(store: FeedbackStore) -> None:
    batch = items(("card-a", "overridden", "2024-03-01T10:00:00Z"))
    assert await store.record_feedback("svc", batch) == 1
    assert await store.record_feedback("svc", batch) == 0
    # The same instant written with another offset is the same feedback.
    assert (
        await store.record_feedback(
            "svc", items(("card-a", "overridden", "2024-03-01T12:00:00+02:00"))
        )
        == 0
    )
    assert await count_rows(store) == 1
    # A later outcome for the same card, or a different outcome, is new.
    assert (
        await store.record_feedback(
            "svc",
            items(
                ("card-a", "overridden", "2024-03-02T10:00:00Z"),
                ("card-a", "accepted", "2024-03-01T10:00:00Z"),
            ),
        )
        == 2
    )
    assert await count_rows(store) == 3


async def test_duplicates_within_one_batch_store_once(store: FeedbackStore) -> None:
    spec = ("card-a", "accepted", "2024-03-01T10:00:00Z")
    assert await store.record_feedback("svc", items(spec, spec, spec)) == 1
    assert await count_rows(store) == 1


async def test_200_concurrent_identical_posts_store_one_row(store: FeedbackStore) -> None:
    batch = items(("card-x", "overridden", "2024-03-01T10:00:00Z"))
    results = await asyncio.gather(*(store.record_feedback("svc", batch) for _ in range(200)))
    assert sorted(results) == [0] * 199 + [1]
    assert await count_rows(store) == 1


async def test_200_concurrent_distinct_posts_store_200_rows(store: FeedbackStore) -> None:
    batches = [items((f"card-{i}", "accepted", "2024-03-01T10:00:00Z")) for i in range(200)]
    results = await asyncio.gather(*(store.record_feedback("svc", b) for b in batches))
    assert results == [1] * 200
    assert await count_rows(store) == 200


async def test_record_issued_is_idempotent_and_first_wins(store: FeedbackStore) -> None:
    card = IssuedCard(card_uuid="u1", rule_id="taper-plan", patient_id="p1", drugs_key="alprazolam")
    await store.record_issued("svc", [card, card])
    await store.record_issued("svc", [IssuedCard("u1", "off-ramp", "p1", "other")])
    await store.record_issued("svc", [])
    await store.flush_issued()
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(issued_cards_table))).mappings().all()
    assert len(rows) == 1
    assert rows[0]["rule_id"] == "taper-plan"
    assert rows[0]["drugs_key"] == "alprazolam"


async def test_patient_key_is_hmac_not_raw_id(
    settings: Settings, store: FeedbackStore, tmp_path: Path
) -> None:
    raw_id = "patient-RAW-ID-5551234"
    await store.record_issued("svc", [IssuedCard("u1", "taper-plan", raw_id, "diazepam")])
    await store.flush_issued()
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(issued_cards_table.c.patient_key))).scalar_one()
    assert stored == patient_key(settings, raw_id)
    assert len(stored) == 64 and raw_id not in stored
    other_key = settings.model_copy(update={"patient_hash_key": SecretStr("another-key")})
    assert patient_key(other_key, raw_id) != stored
    if store.engine.dialect.name == "sqlite":
        await store.engine.dispose()  # checkpoint WAL so every byte is in the files we read
        data = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite*"))
        assert b"diazepam" in data  # the scan does see stored values
        assert raw_id.encode() not in data


async def test_upgrade_twice_and_concurrently(settings: Settings, store: FeedbackStore) -> None:
    await store.record_feedback("svc", items(("a", "accepted", "2024-01-01T00:00:00Z")))
    await asyncio.gather(*(migrate.upgrade(store.engine) for _ in range(5)))
    assert await count_rows(store) == 1
    assert (await migrate.schema_state(store.engine)).up_to_date


async def test_clinician_comment_is_never_logged(
    store: FeedbackStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store.engine.sync_engine.echo = True  # SQLAlchemy statement logging, as when debugging
    await store.record_feedback("svc", items(("card-a", "overridden", "2024-03-01T10:00:00Z")))
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "feedback stored" in logged
    assert COMMENT not in logged
