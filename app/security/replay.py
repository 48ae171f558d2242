"""Replay protection for CDS Client JWTs: each (iss, jti) is accepted once within its lifetime.

The in-memory store only protects one process; the service runs it in front of the database
store (app/security/replay_db.py), which every worker and replica shares.
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol


class ReplayStore(Protocol):
    """Records (iss, jti) pairs until they expire."""

    async def add_if_new(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        """Record the pair; False when it is already recorded and not yet expired."""
        ...


class InMemoryReplayStore:
    """Process-local replay cache, pruned on every insert; safe across threads and tasks."""

    def __init__(self) -> None:
        self._expiry: dict[tuple[str, str], float] = {}
        self._heap: list[tuple[float, tuple[str, str]]] = []
        # No await happens while the lock is held, so a threading lock serves both
        # asyncio tasks (atomic between awaits) and worker threads.
        self._lock = threading.Lock()

    async def add_if_new(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        return self.add_if_new_sync(iss, jti, expires_at, now)

    def add_if_new_sync(self, iss: str, jti: str, expires_at: float, now: float) -> bool:
        key = (iss, jti)
        with self._lock:
            self._prune(now)
            current = self._expiry.get(key)
            if current is not None and current > now:
                return False
            self._expiry[key] = expires_at
            heapq.heappush(self._heap, (expires_at, key))
            return True

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            expires_at, key = heapq.heappop(self._heap)
            # A key re-added later has a newer expiry; only drop the entry this heap item made.
            if self._expiry.get(key) == expires_at:
                del self._expiry[key]
