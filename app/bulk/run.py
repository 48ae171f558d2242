"""`benzo-cds evaluate EXPORT_DIR`: a population dry run; writes CSV, HTML report and JSON."""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from app.bulk import html
from app.bulk.files import list_export
from app.bulk.partition import ReadStats
from app.bulk.patient import COLUMNS, RunOptions
from app.bulk.progress import Progress
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

    def close(self) -> None:
        self.handle.close()


def _check_date(date_arg: str) -> None:
    if date_arg not in ("latest", "today"):
        datetime.strptime(date_arg, "%Y-%m-%d")  # ValueError names the bad value


def dry_run(folder: Path, out: Path, *, settings: Settings, engine: Engine = "local",
            date_arg: str = "latest", reveal_ids: bool = False, workers: int | None = None,
            progress: Progress | None = None) -> DryRun:
    """Evaluate every patient of the export and write dry-run.csv / .html / .json to `out`."""
    _check_date(date_arg)
    started = time.monotonic()
    options = RunOptions(settings=settings, date_arg=date_arg, reveal_ids=reveal_ids)
    listing = list_export(folder)
    workers = workers or os.cpu_count() or 1
    progress = progress or Progress()
    out.mkdir(parents=True, exist_ok=True)
    sink = ResultSink(out / CSV_NAME)
    stats = ReadStats()
    try:
        if engine == "spark":
            from app.bulk.spark import evaluate_with_spark

            evaluate_with_spark(listing, options, sink, stats, workers=workers,
                                progress=progress)
        else:
            from app.bulk.local import evaluate_export

            for rows, counted in evaluate_export(listing, options, workers=workers,
                                                 progress=progress, on_read=stats.merge):
                sink.add(rows)
                stats.merge(counted)
    finally:
        sink.close()
    reading = stats.as_dict() | {"ignored_files": dict(listing.ignored),
                                 "files": len(listing.files)}
    elapsed = time.monotonic() - started
    meta = {"export folder": folder.name, "engine": engine, "workers": workers,
            "as of": date_arg if date_arg != "latest" else "each patient's latest record",
            "patient column": "patient id (revealed)" if reveal_ids
            else "keyed hash of the patient id (BENZO_CDS_PATIENT_HASH_KEY)",
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": round(elapsed, 1),
            "rule_modes": {rule: settings.rule_mode(rule) for rule in RULES}}
    run = DryRun(sink.summary, reading, meta, out)
    (out / HTML_NAME).write_text(html.render(run.summary, reading, meta), encoding="utf-8")
    (out / JSON_NAME).write_text(json.dumps({"summary": run.summary.as_dict(),
                                             "reading": reading, "run": meta}, indent=2),
                                 encoding="utf-8")
    return run
