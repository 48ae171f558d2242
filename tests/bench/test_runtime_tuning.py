"""Process-level speed settings: GC tuning at start-up, and httpcore finding sniffio."""

from __future__ import annotations

import asyncio
import builtins
import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_startup_freezes_the_heap_and_raises_the_young_threshold(
    make_client: Callable[..., TestClient], restore_gc: None
) -> None:
    gc.unfreeze()
    make_client(gc_threshold=12_345)
    assert gc.get_threshold()[0] == 12_345
    assert gc.get_freeze_count() > 0


def test_gc_threshold_zero_leaves_the_interpreter_alone(
    make_client: Callable[..., TestClient], restore_gc: None
) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    make_client(gc_threshold=0)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_httpcore_finds_sniffio_without_a_failed_import(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without sniffio installed, every pooled request paid a failed import (encode/httpcore#1103).
    from httpcore._synchronization import current_async_library

    failed: list[str] = []
    real_import = builtins.__import__

    def counting_import(name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return real_import(name, *args, **kwargs)
        except ImportError:
            failed.append(name)
            raise

    monkeypatch.setattr(builtins, "__import__", counting_import)

    async def probe() -> str:
        return current_async_library()

    assert asyncio.run(probe()) == "asyncio"
    assert failed == []
