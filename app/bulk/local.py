"""The single-machine engine: partition the export on disk, then evaluate buckets on all cores."""

from __future__ import annotations

import gc
import multiprocessing
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from app.bulk.files import ExportListing
from app.bulk.partition import (
    MEDICATION_INDEX,
    MedicationLookup,
    ReadStats,
    bucket_files,
    build_medication_index,
    choose_buckets,
    group_bucket,
    iter_buckets,
    partition_task,
    plan_tasks,
)
from app.bulk.patient import RunOptions, evaluate_group
from app.bulk.progress import Progress

_worker: dict[str, Any] = {}


def _tune_gc() -> None:
    # A bucket allocates millions of short-lived dicts; the default young-generation threshold
    # (700) walks the long-lived heap again and again (as in the service, see README).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _init_worker(workdir: Path, options: RunOptions) -> None:
    _tune_gc()
    _worker["workdir"] = workdir
    _worker["options"] = options
    _worker["medications"] = None


def _evaluate_bucket(bucket: int) -> tuple[list[dict[str, Any]], ReadStats]:
    workdir: Path = _worker["workdir"]
    if _worker["medications"] is None:  # the index exists only once reading has finished
        _worker["medications"] = MedicationLookup(workdir / MEDICATION_INDEX)
    groups = group_bucket(bucket_files(workdir, bucket))
    return evaluate_group(groups, _worker["medications"], _worker["options"])


def evaluate_export(listing: ExportListing, options: RunOptions, *, workers: int,
                    progress: Progress, temp_root: Path | None = None,
                    on_read: Callable[[ReadStats], None] | None = None
                    ) -> Iterator[tuple[list[dict[str, Any]], ReadStats]]:
    """Yield (rows, what was read) bucket by bucket, in bucket order."""
    tasks = plan_tasks(listing)
    buckets = choose_buckets(listing, workers)
    with tempfile.TemporaryDirectory(prefix="benzo-dry-run-", dir=temp_root) as tmp:
        workdir = Path(tmp)
        stats = ReadStats()
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init_worker,
                          initargs=(workdir, options)) as pool:
            progress.phase("reading", sum(t.size for t in tasks))
            read = partial(partition_task, workdir=workdir, buckets=buckets)
            for task, result in zip(tasks, pool.imap(read, tasks), strict=True):
                stats.merge(result)
                progress.advance(task.size)
            build_medication_index(workdir)
            if on_read is not None:
                on_read(stats)
            present = list(iter_buckets(workdir, buckets))
            progress.phase("evaluating", len(present))
            for result in pool.imap(_evaluate_bucket, present):
                progress.advance()
                yield result
            progress.finish()
