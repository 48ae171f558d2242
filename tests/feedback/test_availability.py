"""Availability: fail fast while the database is down, one probe per interval, and a busy
process (its own bound, an exhausted pool) is never taken for a dead database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.feedback.availability import Availability, DatabaseUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Database:
    """An operation that fails with `error` while set, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: BaseException | None = None

    async def __call__(self) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return "rows"


async def test_down_fails_fast_then_one_probe_reopens() -> None:
    clock, db = Clock(), Database()
    gate = Availability(retry_seconds=2.0, clock=clock)
    db.error = ConnectionRefusedError()
    with pytest.raises(DatabaseUnavailable) as first:
        await gate.run(db, timeout=1)
    assert (first.value.reason, first.value.status_code) == ("ConnectionRefusedError", 503)
    assert first.value.headers() == {"Retry-After": "2"}
    assert not gate.available and db.calls == 1
    with pytest.raises(DatabaseUnavailable):
        await gate.run(db, timeout=1)
    assert db.calls == 1  # not even tried within the interval
    db.error = None
    clock.now += 2.0
    assert await gate.run(db, timeout=1) == "rows"
    assert gate.available and db.calls == 2


async def test_health_probes_even_while_down() -> None:
    clock, db = Clock(), Database()
    gate = Availability(retry_seconds=60.0, clock=clock)
    gate.mark_down("OSError")
    assert await gate.run(db, timeout=1, force=True) == "rows"
    assert gate.available


@pytest.mark.parametrize("busy", ["own-bound", "pool"])
async def test_a_busy_process_is_not_a_dead_database(busy: str) -> None:
    gate = Availability(retry_seconds=1.0, clock=Clock())

    async def slow() -> None:
        if busy == "pool":
            raise PoolTimeout("QueuePool limit reached")
        await asyncio.sleep(5)

    with pytest.raises(DatabaseUnavailable) as failed:
        await gate.run(slow, timeout=0.05)
    assert failed.value.reason == "timeout"
    assert gate.available  # the others carry on


async def test_the_drivers_own_timeout_marks_it_down() -> None:
    gate, db = Availability(retry_seconds=1.0, clock=Clock()), Database()
    db.error = TimeoutError()  # raised inside the operation, before our bound
    with pytest.raises(DatabaseUnavailable):
        await gate.run(db, timeout=5)
    assert not gate.available and gate.reason == "timeout"


async def test_a_bug_is_not_an_outage() -> None:
    gate, db = Availability(retry_seconds=1.0, clock=Clock()), Database()
    db.error = KeyError("oops")
    with pytest.raises(KeyError):
        await gate.run(db, timeout=1)
    assert gate.available
