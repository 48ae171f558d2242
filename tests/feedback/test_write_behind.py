"""Issued cards written behind the answer: batched, bounded, flushed before feedback and at
shutdown, dropped (and retried by the next call) while the database is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from app.config import Settings
from app.feedback.db import issued_cards_table, make_engine
from app.feedback.silent import silent_cards_table
from app.feedback.store import FeedbackStore, IssuedCard
from app.observability.metrics import WRITE_BEHIND_DROPPED
from tests.feedback.test_snooze import OVERRIDE_AT, feedback


async def _count(store: FeedbackStore, table: Any = issued_cards_table) -> int:
    async with store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


def _cards(prefix: str, n: int, patient: str = "p1") -> list[IssuedCard]:
    return [IssuedCard(f"{prefix}-{i}", "taper-plan", patient, "alprazolam") for i in range(n)]


@pytest.fixture
async def slow_store(settings: Settings) -> AsyncIterator[FeedbackStore]:
    """A store whose timer would wait a long time: only an explicit flush writes in time."""
    settings = settings.model_copy(
        update={"card_write_delay_ms": 1000.0, "database_retry_seconds": 0.05}
    )
    engine = make_engine(settings)
    store = FeedbackStore(engine, settings)
    await store.init()
    yield store
    await engine.dispose()


def _inserts(store: FeedbackStore) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ISSUED_CARDS"):
            seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_many_calls_share_one_insert(store: FeedbackStore) -> None:
    inserts = _inserts(store)
    await asyncio.gather(*(store.record_issued("svc", _cards(f"call{i}", 2)) for i in range(40)))
    assert await _count(store) == 0  # nothing written inside the calls themselves
    await store.flush_issued()
    assert await _count(store) == 80
    assert len(inserts) == 1


async def test_timer_writes_without_further_calls(store: FeedbackStore) -> None:
    await store.record_issued("svc", _cards("t", 3))
    for _ in range(200):  # the default delay is 20 ms; allow a loaded machine 2 s
        if await _count(store) == 3:
            break
        await asyncio.sleep(0.01)
    assert await _count(store) == 3
    assert store.issued.pending == 0


async def test_feedback_right_after_the_answer_is_attributed(slow_store: FeedbackStore) -> None:
    """The card is still queued when its feedback arrives: the feedback writes it first, so
    another worker's very next read sees the snooze."""
    other = FeedbackStore(slow_store.engine, slow_store.settings)
    await slow_store.record_issued("svc", [IssuedCard("c1", "taper-plan", "p1", "alprazolam")])
    assert slow_store.issued.pending == 1
    await slow_store.record_feedback("svc", feedback("c1", "overridden"))
    now = OVERRIDE_AT + timedelta(days=1)
    assert await other.active_snoozes("p1", now) == {"taper-plan": {"alprazolam"}}


async def test_feedback_on_another_worker_is_attributed_once_the_card_lands(
    slow_store: FeedbackStore,
) -> None:
    """Feedback stored by a worker that never saw the card joins it when it is written."""
    other = FeedbackStore(slow_store.engine, slow_store.settings)
    await slow_store.record_issued("svc", [IssuedCard("c1", "taper-plan", "p1", "alprazolam")])
    await other.record_feedback("svc", feedback("c1", "overridden"))
    now = OVERRIDE_AT + timedelta(days=1)
    assert await other.active_snoozes("p1", now) == {}  # the issuing worker has not written
    await slow_store.flush_issued()
    assert await other.active_snoozes("p1", now) == {"taper-plan": {"alprazolam"}}


async def test_shutdown_writes_what_is_queued(slow_store: FeedbackStore) -> None:
    await slow_store.record_issued("svc", _cards("s", 5))
    await slow_store.record_silent("svc", _cards("quiet", 2), {"quiet-0": "critical"})
    await slow_store.aclose()
    assert await _count(slow_store) == 5
    assert await _count(slow_store, silent_cards_table) == 2


async def test_database_down_drops_the_batch_and_the_next_call_queues_it_again(
    slow_store: FeedbackStore,
) -> None:
    slow_store.availability.mark_down("OperationalError")
    await slow_store.record_issued("svc", _cards("d", 2))
    await slow_store.flush_issued()  # fails fast: dropped, not remembered as written
    assert slow_store.issued.pending == 0
    assert await _count(slow_store) == 0
    await asyncio.sleep(slow_store.availability.retry_seconds)  # the next write probes
    await slow_store.record_issued("svc", _cards("d", 2))
    await slow_store.flush_issued()
    assert await _count(slow_store) == 2
    await slow_store.record_issued("svc", _cards("d", 2))  # written once: not queued again
    assert slow_store.issued.pending == 0


async def test_queue_is_bounded(slow_store: FeedbackStore) -> None:
    writer = slow_store.issued
    writer.max_rows, writer.batch_rows = 5, 1_000
    before = WRITE_BEHIND_DROPPED.labels("issued_cards")._value.get()
    await slow_store.record_issued("svc", _cards("b", 8))
    assert writer.pending == 5
    assert WRITE_BEHIND_DROPPED.labels("issued_cards")._value.get() - before == 3
    await slow_store.flush_issued()
    assert await _count(slow_store) == 5


async def test_a_full_batch_is_written_without_waiting_for_the_timer(
    slow_store: FeedbackStore,
) -> None:
    slow_store.issued.batch_rows = 4
    await slow_store.record_issued("svc", _cards("f", 4))
    for _ in range(200):  # well before the 1 s timer
        if await _count(slow_store) == 4:
            break
        await asyncio.sleep(0.005)
    assert await _count(slow_store) == 4
