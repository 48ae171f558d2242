"""Write-behind for rows written after the answer (issued and silent cards): one INSERT per batch.

A hook call that shows cards used to open a transaction of its own after the answer to write
them: about half the store's cost per call. Here a call only queues its rows; one multi-row
INSERT ... ON CONFLICT DO NOTHING writes everything queued, `flush_seconds` after the first
row arrived or at once when `batch_rows` are waiting. So the rows reach the database within
`flush_seconds` (plus the INSERT itself) of the answer, as they reached it just after the answer
before; feedback on this worker flushes first (FeedbackStore.record_feedback), and feedback on
another replica is joined to its card when it is read, so it is attributed all the same.

Bounded: at most `max_rows` wait; past that a card is not queued, exactly as when the database
is down (nothing stored; the next call showing the card queues it again, since uuids are
deterministic). The app's shutdown flushes what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from app.feedback.availability import Availability, DatabaseUnavailable
from app.feedback.db import insert_ignoring_duplicates
from app.observability.metrics import WRITE_BEHIND_DROPPED

log = logging.getLogger(__name__)
_STORED_CAP = 100_000


class WriteBehind:
    """Rows keyed by card uuid for one table; the first row for a uuid wins (as the INSERT)."""

    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        availability: Availability,
        *,
        timeout: float,
        flush_seconds: float,
        batch_rows: int,
        max_rows: int,
    ) -> None:
        self.engine, self.table, self.availability = engine, table, availability
        self.timeout, self.flush_seconds = timeout, flush_seconds
        self.batch_rows, self.max_rows = batch_rows, max_rows
        self._insert = insert_ignoring_duplicates(engine.dialect.name, table)
        self._pending: dict[str, dict[str, Any]] = {}
        # Card uuids are deterministic and EHRs call again and again for one chart: a uuid
        # this process has written once needs no second write.
        self._stored: OrderedDict[str, None] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def known(self, card_uuid: str) -> bool:
        """Written by this process already, or queued: no need to build its row again."""
        return card_uuid in self._stored or card_uuid in self._pending

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Queue rows (never waits; the flush runs as its own task)."""
        for row in rows:
            uuid = row["card_uuid"]
            if uuid in self._stored or uuid in self._pending:
                continue
            if len(self._pending) >= self.max_rows:
                WRITE_BEHIND_DROPPED.labels(self.table.name).inc()
                continue
            self._pending[uuid] = row
        if not self._pending:
            return
        if len(self._pending) >= self.batch_rows:
            self._start_flush()
        elif self._timer is None and self._flushing is None:
            self._timer = asyncio.get_running_loop().call_later(
                self.flush_seconds, self._start_flush
            )

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        try:
            # Rows queued while a batch was being written go out in the next batch at once:
            # under load the batches grow instead of the INSERTs multiplying.
            while self._pending:
                await self.flush()
        finally:
            self._flushing = None

    async def flush(self) -> None:
        """Write everything queued now; while the database is down it is dropped, as before."""
        async with self._lock:
            if not self._pending:
                return
            rows, self._pending = list(self._pending.values()), {}

            async def insert() -> None:
                async with self.engine.begin() as conn:
                    await conn.execute(self._insert, rows)

            try:
                await self.availability.run(insert, timeout=self.timeout)
            except DatabaseUnavailable as error:
                log.info(
                    "%s not stored: database unavailable (%s)",
                    self.table.name,
                    error.reason,
                    extra={"rows": len(rows)},
                )
                return
            for row in rows:
                self._stored[row["card_uuid"]] = None
            while len(self._stored) > _STORED_CAP:
                self._stored.popitem(last=False)

    async def drain(self) -> None:
        """Wait until nothing is queued or being written (feedback, shutdown, tests)."""
        while self._pending or self._flushing is not None:
            if self._flushing is not None:
                await asyncio.shield(self._flushing)
            else:
                await self.flush()

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.drain()
