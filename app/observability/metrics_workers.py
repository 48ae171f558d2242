"""One metrics directory for all workers of `benzo-cds serve --workers N` (see metrics.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.multiprocess import mark_process_dead

from app.observability.metrics import MULTIPROC_DIR_VARIABLE


@contextmanager
def metrics_shared_by_workers(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for their metric files, removed afterwards.

    A directory the operator names in PROMETHEUS_MULTIPROC_DIR is used as given (empty it
    before each start, as prometheus_client asks). Workers are spawned, so they inherit it.
    """
    if workers <= 1 or os.environ.get(MULTIPROC_DIR_VARIABLE):
        yield
        return
    directory = tempfile.mkdtemp(prefix="benzo-cds-metrics-")
    os.environ[MULTIPROC_DIR_VARIABLE] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_DIR_VARIABLE, None)
        shutil.rmtree(directory, ignore_errors=True)


def worker_stopped() -> None:
    """Drop this worker's live gauges (its counters stay in the totals)."""
    if os.environ.get(MULTIPROC_DIR_VARIABLE):
        mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # unannotated upstream
