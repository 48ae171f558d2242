"""`benzo-cds evaluate EXPORT_DIR`: a population dry run; writes CSV, HTML report and JSON."""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app.bulk import html
from app.bulk.files import ExportListing, list_export
from app.bulk.patient import COLUMNS, RunOptions
from app.bulk.progress import Progress
from app.bulk.route import ReadStats
from app.bulk.summary import Summary
from app.cards import RULES
from app.config import Settings

Engine = Literal["local", "spark"]
CSV_NAME, HTML_NAME, JSON_NAME = "dry-run.csv", "dry-run.html", "dry-run.json"


@dataclass
class DryRun:
    """What a run wrote and counted."""

    summary: Summary
    reading: dict[str, Any]
    meta: dict[str, Any]
    out: Path


class ResultSink:
    """Rows to the CSV as they come, and into the summary; nothing else is kept."""

    def __init__(self, path: Path) -> None:
        self.handle = path.open("w", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.handle, fieldnames=COLUMNS)
        self.writer.writeheader()
        self.summary = Summary()

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.writer.writerow(row)
            self.summary.add(row)

    def add_part(self, part: Path, summary: Summary) -> None:
        """Rows a worker wrote (same CSV dialect, no header) and their summary."""
        self.handle.flush()
        with part.open("rb") as rows:
            shutil.copyfileobj(rows, self.handle.buffer)
        part.unlink()
        self.summary.merge(summary)

    def close(self) -> None:
        self.handle.close()


class BadArgument(Exception):
    """The run cannot start as asked (the CLI exits 2); bugs are not this, and surface as such."""


def _check_date(date_arg: str) -> None:
    if date_arg in ("latest", "today"):
        return
    try:
        datetime.strptime(date_arg, "%Y-%m-%d")
    except ValueError:
        raise BadArgument(f"--date {date_arg!r} is not YYYY-MM-DD, 'today' or 'latest'") from None


def _usable_cores() -> int:
    """Cores this process may run on (a container's or taskset's cpuset, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _run_local(
    listing: ExportListing,
    options: RunOptions,
    sink: ResultSink,
    stats: ReadStats,
    *,
    workers: int,
    progress: Progress,
) -> float:
    """The local engine into `sink` and `stats`; returns the seconds the reading pass took."""
    from app.bulk.local import evaluate_export

    started = time.monotonic()
    read_seconds = 0.0

    def read_done(read: ReadStats) -> None:
        nonlocal read_seconds
        stats.merge(read)
        read_seconds = round(time.monotonic() - started, 1)

    for bucket in evaluate_export(
        listing, options, workers=workers, progress=progress, on_read=read_done
    ):
        sink.add_part(bucket.part, bucket.summary)
        stats.merge(bucket.stats)
    return read_seconds


def dry_run(
    folder: Path,
    out: Path,
    *,
    settings: Settings,
    engine: Engine = "local",
    date_arg: str = "latest",
    reveal_ids: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    shortcuts: bool = True,
    typed: bool | None = None,
) -> DryRun:
    """Evaluate every patient of the export and write dry-run.csv / .html / .json to `out`.

    `shortcuts=False` is the straightforward path (lenient reader, every card in full) unless
    `typed` says otherwise; `typed` alone picks the reader (RunOptions.typed)."""
    _check_date(date_arg)
    if workers is not None and workers < 1:
        raise BadArgument("--workers must be at least 1")
    started = time.monotonic()
    options = RunOptions(
        settings=settings,
        date_arg=date_arg,
        reveal_ids=reveal_ids,
        shortcuts=shortcuts,
        typed=shortcuts if typed is None else typed,
    )
    listing = list_export(folder)
    workers = workers or _usable_cores()
    progress = progress or Progress()
    out.mkdir(parents=True, exist_ok=True)
    sink = ResultSink(out / CSV_NAME)
    stats = ReadStats()
    phases: dict[str, float] = {}
    try:
        if engine == "spark":
            from app.bulk.spark import evaluate_with_spark

            evaluate_with_spark(listing, options, sink, stats, workers=workers, progress=progress)
        else:
            phases["seconds reading (partition)"] = _run_local(
                listing, options, sink, stats, workers=workers, progress=progress
            )
    finally:
        sink.close()
    reading = stats.as_dict() | {
        "ignored_files": dict(listing.ignored),
        "files": len(listing.files),
    }
    elapsed = time.monotonic() - started
    meta = {
        "export folder": folder.name,
        "engine": engine,
        "workers": workers,
        "as of": date_arg if date_arg != "latest" else "each patient's latest record",
        "patient column": "patient id (revealed)"
        if reveal_ids
        else "keyed hash of the patient id (BENZO_CDS_PATIENT_HASH_KEY)",
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(elapsed, 1),
        **phases,
        "renewal gap (days)": settings.renewal_gap_days,
        "rule_modes": {rule: settings.rule_mode(rule) for rule in RULES},
    }
    run = DryRun(sink.summary, reading, meta, out)
    (out / HTML_NAME).write_text(html.render(run.summary, reading, meta), encoding="utf-8")
    (out / JSON_NAME).write_text(
        json.dumps({"summary": run.summary.as_dict(), "reading": reading, "run": meta}, indent=2),
        encoding="utf-8",
    )
    return run
