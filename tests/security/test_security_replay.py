"""The in-memory (iss, jti) replay cache."""

from __future__ import annotations

import threading

from app.security.replay import InMemoryReplayStore


async def test_second_use_is_refused_until_expiry() -> None:
    store = InMemoryReplayStore()
    assert await store.add_if_new("iss", "a", expires_at=100.0, now=0.0)
    assert not await store.add_if_new("iss", "a", expires_at=200.0, now=50.0)
    assert await store.add_if_new("other-iss", "a", expires_at=100.0, now=50.0)
    # After expiry the token itself is dead, so the pair may be forgotten.
    assert await store.add_if_new("iss", "a", expires_at=300.0, now=100.0)
    assert not await store.add_if_new("iss", "a", expires_at=300.0, now=299.0)


async def test_expired_entries_are_pruned() -> None:
    store = InMemoryReplayStore()
    for i in range(50):
        await store.add_if_new("iss", f"j{i}", expires_at=10.0 + i, now=0.0)
    assert len(store) == 50
    await store.add_if_new("iss", "late", expires_at=1000.0, now=40.0)
    # j0..j30 expire at or before 40; j31..j49 and "late" remain.
    assert len(store) == 20


async def test_readding_after_expiry_keeps_the_new_entry() -> None:
    store = InMemoryReplayStore()
    await store.add_if_new("iss", "a", expires_at=10.0, now=0.0)
    await store.add_if_new("iss", "a", expires_at=100.0, now=10.0)
    # The stale heap item for the first use must not evict the second.
    await store.add_if_new("iss", "b", expires_at=100.0, now=11.0)
    assert not await store.add_if_new("iss", "a", expires_at=100.0, now=12.0)


def test_threads_accept_a_jti_exactly_once() -> None:
    store = InMemoryReplayStore()
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def attempt() -> None:
        barrier.wait()
        results.append(store.add_if_new_sync("iss", "same", expires_at=100.0, now=0.0))

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
