"""The single-machine engine: partition the export on disk, then evaluate buckets on all cores.

Work is spread in two passes over one pool of processes: read tasks (largest first) write each
line to its patient's bucket; then each worker takes whole buckets, evaluates their patients,
writes their CSV rows to a part file and folds them into a Summary. Only summaries and counts
travel back to the parent, which appends the parts to the CSV in bucket order (the output does
not depend on which worker ran what).
"""

from __future__ import annotations

import csv
import gc
import multiprocessing
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from app.bulk.files import ExportListing
from app.bulk.medications import MEDICATION_INDEX, MedicationLookup, build_medication_index
from app.bulk.partition import (
    ReadTask,
    bucket_index,
    choose_buckets,
    group_bucket,
    iter_buckets,
    partition_task,
    plan_tasks,
)
from app.bulk.patient import COLUMNS, RunOptions, evaluate_rows
from app.bulk.progress import Progress
from app.bulk.route import ReadStats
from app.bulk.summary import Summary


@dataclass
class BucketResult:
    summary: Summary
    stats: ReadStats
    part: Path  # the bucket's CSV rows, no header, in patient-id order


_worker: dict[str, Any] = {}


def _tune_gc() -> tuple[int, int, int]:
    """GC settings for evaluating many patients; returns the previous thresholds.

    A bucket allocates millions of short-lived dicts; the default young-generation threshold
    (700) walks the long-lived heap again and again (as in the service, see README).
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    return previous


def _init_worker(workdir: Path, options: RunOptions) -> None:
    _tune_gc()
    _worker.update(workdir=workdir, options=options, medications=None)


def _partition(task: ReadTask, workdir: Path, buckets: int) -> tuple[int, ReadStats]:
    return task.size, partition_task(task, workdir, buckets)


def _evaluate_bucket(bucket: int) -> BucketResult:
    workdir: Path = _worker["workdir"]
    if _worker["medications"] is None:  # the indexes exist only once reading has finished
        _worker["medications"] = MedicationLookup(workdir / MEDICATION_INDEX)
        _worker["buckets"] = bucket_index(workdir)
    # The task files hold every bucket and go with the work folder: the disk holds one copy
    # of the export at most, as it does at the end of reading.
    groups = group_bucket(_worker["buckets"].get(bucket, []))
    summary, stats = Summary(), ReadStats()
    part = workdir / f"rows-{bucket:05d}.csv"
    with part.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in evaluate_rows(groups, _worker["medications"], _worker["options"], stats):
            writer.writerow([row[column] for column in COLUMNS])
            summary.add(row)
    return BucketResult(summary, stats, part)


class _InProcess:
    """The pool's interface in this process: one worker needs no other process."""

    def imap(self, func: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        return map(func, items)

    imap_unordered = imap


@contextmanager
def _pool(workers: int, workdir: Path, options: RunOptions) -> Iterator[Any]:
    if workers == 1:
        previous = _tune_gc()
        _worker.update(workdir=workdir, options=options, medications=None)
        try:
            yield _InProcess()
        finally:
            _worker.clear()
            gc.unfreeze()
            gc.set_threshold(*previous)
        return
    # fork: workers start with the app already imported (a spawned worker spends about 2 s
    # importing it). Only on Linux (macOS system libraries are not fork-safe) and only when
    # this process runs one thread: a fork copies locks other threads may hold. Otherwise (a
    # test runner's threads, a host application) spawn.
    method = "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_init_worker, initargs=(workdir, options)) as pool:
        yield pool


def evaluate_export(
    listing: ExportListing,
    options: RunOptions,
    *,
    workers: int,
    progress: Progress,
    temp_root: Path | None = None,
    on_read: Callable[[ReadStats], None] | None = None,
) -> Iterator[BucketResult]:
    """Yield each bucket's result in bucket order; its part file is the caller's to consume
    before the next one is asked for (the work folder goes when the iteration ends)."""
    tasks = plan_tasks(listing)
    buckets = choose_buckets(listing)
    with tempfile.TemporaryDirectory(prefix="benzo-dry-run-", dir=temp_root) as tmp:
        workdir = Path(tmp)
        stats = ReadStats()
        with _pool(workers, workdir, options) as pool:
            progress.phase("reading", sum(t.size for t in tasks))
            read = partial(_partition, workdir=workdir, buckets=buckets)
            for size, result in pool.imap_unordered(read, tasks):
                stats.merge(result)
                progress.advance(size)
            build_medication_index(workdir)
            if on_read is not None:
                on_read(stats)
            present = list(iter_buckets(workdir, buckets))
            progress.phase("evaluating", len(present))
            for result in pool.imap(_evaluate_bucket, present):
                progress.advance()
                yield result
            progress.finish()
