"""Replay protection shared by every worker and replica through the service's database.

A (iss, jti) pair is accepted when one atomic INSERT ... ON CONFLICT claims it; a pair whose
token has expired may be claimed again (the token itself is dead by then). This process's own
cache sits in front only to refuse faster: it never accepts what the database refused.
While the database does not answer, the process cache alone decides (logged and counted):
cards keep coming, and a token replayed to another replica during the outage is the price.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from app.feedback.availability import Availability, DatabaseUnavailable
from app.feedback.db import jwt_replay_table
from app.observability.metrics import REPLAY_DEGRADED
from app.security.replay import InMemoryReplayStore

log = logging.getLogger("app.security")
PURGE_INTERVAL_SECONDS = 60.0


def token_key(iss: str, jti: str) -> str:
    """SHA-256 of the pair, length-prefixed so ("a", "bc") and ("ab", "c") differ."""
    raw = f"{len(iss)}:{iss}\x00{jti}".encode()
    return hashlib.sha256(raw).hexdigest()


class DatabaseReplayStore:
    """ReplayStore on the jwt_replay table, with the process cache in front."""

    def __init__(
        self,
        engine: AsyncEngine,
        availability: Availability,
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._availability = availability
        self._timeout = timeout
        self._clock = clock
        self._local = InMemoryReplayStore()
        self._purged_at: float | None = None

    async def add_if_new(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        # Seen by this process before (accepted here, or refused by the database): a replay.
        if not self._local.add_if_new_sync(iss, jti, expires_at, now):
            return False
        key = token_key(iss, jti)
        try:
            return await self._availability.run(
                lambda: self._claim(key, expires_at, now), timeout=self._timeout
            )
        except DatabaseUnavailable as error:
            REPLAY_DEGRADED.inc()
            # Per call at INFO; the outage itself is one WARNING from app.database.
            log.info(
                "jti checked by this process only: database unavailable (%s)",
                error.reason,
                extra={"reason": error.reason},
            )
            return True

    async def _claim(self, key: str, expires_at: float, now: float) -> bool:
        table = jwt_replay_table
        async with self._engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(table).values(token_key=key, expires_at=expires_at)
            # Only an expired claim may be taken over; a live one makes this a replay.
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.token_key],
                set_={"expires_at": stmt.excluded.expires_at},
                where=table.c.expires_at <= now,
            ).returning(table.c.token_key)
            claimed = (await conn.execute(stmt)).first() is not None
            if self._purge_due():
                await conn.execute(table.delete().where(table.c.expires_at <= now))
        return claimed

    def _purge_due(self) -> bool:
        moment = self._clock()
        if self._purged_at is not None and moment - self._purged_at < PURGE_INTERVAL_SECONDS:
            return False
        self._purged_at = moment
        return True
