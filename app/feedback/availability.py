"""Whether the database answers: a bounded wait per operation, and fail-fast while it is down.

After a failure, callers get DatabaseUnavailable at once, without touching the database, until
settings.database_retry_seconds have passed; then one operation tries again (the others keep
failing fast) and its success reopens the way. /health always tries, so a replica that takes no
traffic still notices the database coming back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import ServiceUnavailable
from app.observability.metrics import DATABASE_UP

log = logging.getLogger("app.database")
T = TypeVar("T")

# Failures that mean "the database cannot serve us now" (not a bug in our SQL): the driver's
# and SQLAlchemy's errors, sockets, and our own time bound.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError, TimeoutError)


class DatabaseUnavailable(ServiceUnavailable):
    """The database did not answer in time (or is known to be down); try again shortly."""

    def __init__(self, reason: str, retry_after_seconds: int = 1) -> None:
        super().__init__(
            "The feedback store is temporarily unavailable; retry shortly.",
            retry_after_seconds=retry_after_seconds,
        )
        self.reason = reason


class Availability:
    """Shared by every database operation of one process."""

    def __init__(
        self, *, retry_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.retry_seconds = retry_seconds
        self._clock = clock
        self.available = True
        self.reason: str | None = None
        self._retry_at = 0.0
        self._probing = False
        # Run once before the first operation after start-up or a failure (schema check).
        self.on_contact: Callable[[], Awaitable[None]] | None = None
        self._contact_checked = False
        self._contact_lock = asyncio.Lock()
        DATABASE_UP.set(1)

    @property
    def retry_after_seconds(self) -> int:
        return max(1, round(self.retry_seconds))

    async def run(
        self, operation: Callable[[], Awaitable[T]], *, timeout: float, force: bool = False
    ) -> T:
        """Run `operation` within `timeout` seconds, or raise DatabaseUnavailable."""
        probing = False
        if not self.available and not force:
            if self._probing or self._clock() < self._retry_at:
                raise DatabaseUnavailable(self.reason or "down", self.retry_after_seconds)
            self._probing = probing = True
        bound = asyncio.timeout(timeout)
        try:
            async with bound:
                if not self._contact_checked and self.on_contact is not None:
                    async with self._contact_lock:
                        if not self._contact_checked:
                            await self.on_contact()
                            self._contact_checked = True
                try:
                    result = await operation()
                except DBAPIError as error:
                    if not error.connection_invalidated:
                        raise
                    # A pooled connection that died with a restarted server: the pool has
                    # been invalidated, so one more try gets a fresh connection. Every
                    # operation here is idempotent or failed before anything was committed.
                    result = await operation()
        except DatabaseUnavailable as error:
            self.mark_down(error.reason)
            raise
        except DATABASE_ERRORS as error:
            # Our own bound, or no free connection in this process's pool, is a busy process,
            # not a dead database: this operation fails and the others carry on. A dead one
            # shows itself by the driver's own errors and timeouts (connect, statement).
            busy = bound.expired() or isinstance(error, PoolTimeout)
            reason = (
                "timeout"
                if isinstance(error, TimeoutError | PoolTimeout)
                else (type(error).__name__)
            )
            if not busy:
                self.mark_down(reason)
            raise DatabaseUnavailable(reason, self.retry_after_seconds) from None
        finally:
            if probing:
                self._probing = False
        self._mark_up()
        return result

    def mark_checked(self) -> None:
        """The schema was checked at start-up; no need to check it again before first use."""
        self._contact_checked = True

    def mark_down(self, reason: str) -> None:
        """Record a failure: fail fast until the retry interval has passed."""
        self._retry_at = self._clock() + self.retry_seconds
        if self.available or self.reason != reason:
            # Type only: driver messages can quote bound values.
            log.warning(
                "database unavailable: %s; hook calls skip snoozes and check jti in "
                "this process only, feedback answers 503",
                reason,
                extra={"reason": reason},
            )
        self.available = False
        self.reason = reason
        self._contact_checked = False  # a restored or replaced database is checked again
        DATABASE_UP.set(0)

    def _mark_up(self) -> None:
        if not self.available:
            log.warning("database available again", extra={"was": self.reason})
        self.available = True
        self.reason = None
        DATABASE_UP.set(1)
