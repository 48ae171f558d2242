"""Benchmark of the population dry run on generated Bulk FHIR exports (speed and memory).

    python -m bench.bulk --patients 10000 100000 [--mix population] [--repeat 3] [--stages]

Generates each export once (bench/results/bulk-<mix>-<n>/, gitignored), runs the local engine
on all cores `--repeat` times, and prints patients per second, per second per core, and the
peak resident memory of the whole process tree (the runner and its workers, sampled every
50 ms). `--stages` adds a one-process profile of where a patient's time goes. The machine is
shared and noisy: compare medians of runs made back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app.bulk.files import list_export
from app.bulk.patient import RunOptions
from app.bulk.progress import Progress
from app.bulk.run import dry_run
from app.config import Settings
from bench.bulk_export import write_export
from bench.data import EVALUATION_DATE

RESULTS = Path(__file__).with_name("results")
TARGET_PER_CORE = 2000
TARGET_PEAK_MIB = 1024


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class TreeMemory:
    """Peak of the summed RSS of this process and all its descendants."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids, todo = [], [os.getpid()]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            self.peak_kib = max(self.peak_kib, sum(_rss_kib(p) for p in pids))
            self._stop.wait(0.05)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def export_for(patients: int, mix: str) -> Path:
    folder = RESULTS / f"bulk-{mix}-{patients}"
    if not (folder / "done").exists():
        write_export(folder, patients, mix=mix, files=4)
        (folder / "done").write_text("ok")
    return folder


def run_once(folder: Path, workers: int) -> dict[str, Any]:
    settings = Settings(_env_file=None, evaluation_date=EVALUATION_DATE)  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory() as out, TreeMemory() as memory:
        started = time.perf_counter()
        run = dry_run(folder, Path(out), settings=settings, date_arg=EVALUATION_DATE.isoformat(),
                      workers=workers, progress=Progress(enabled=False))
        seconds = time.perf_counter() - started
    patients = run.summary.patients
    return {"patients": patients, "seconds": round(seconds, 2),
            "per_second": round(patients / seconds),
            "per_core": round(patients / seconds / workers),
            "peak_mib": round(memory.peak_kib / 1024), "with_cards": run.summary.with_cards}


def stages(folder: Path, sample: int = 2000) -> dict[str, float]:
    """Milliseconds per patient for each stage, in one process, on the first patients."""
    from collections.abc import Callable

    from app.bulk.local import _tune_gc
    from app.bulk.partition import (
        MEDICATION_INDEX,
        MedicationLookup,
        ReadStats,
        bucket_files,
        build_medication_index,
        group_bucket,
        partition_task,
        plan_tasks,
    )
    from app.bulk.patient import _when, gathered_for, parse_lines
    from app.cards import fire_rules
    from app.normalize import build_record

    _tune_gc()  # as in the workers
    settings = Settings(_env_file=None, evaluation_date=EVALUATION_DATE)  # type: ignore[call-arg]
    options = RunOptions(settings=settings, date_arg=EVALUATION_DATE.isoformat())
    listing = list_export(folder)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        for task in plan_tasks(listing):
            partition_task(task, work, 64)
        build_medication_index(work)
        patients = sum(1 for _ in (folder.glob("Patient.*")) for _ in _.open("rb"))
        out["read+partition"] = (time.perf_counter() - started) * 1000 / patients
        started = time.perf_counter()
        groups = group_bucket(bucket_files(work, 0))
        out["group"] = (time.perf_counter() - started) * 1000 / len(groups)
        chosen = dict(sorted(groups.items())[:sample])
        medications = MedicationLookup(work / MEDICATION_INDEX)

        def timed(name: str, func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
            begun = time.perf_counter()
            result = [func(item) for item in items]
            out[name] = (time.perf_counter() - begun) * 1000 / len(items)
            return result

        stats = ReadStats()
        parsed = timed("parse JSON", lambda lines: parse_lines(lines, stats),
                       list(chosen.values()))
        gathered = timed("gather", lambda item: gathered_for(item[0], item[1], medications),
                         list(zip(chosen, parsed, strict=True)))
        records = timed("build_record", lambda g: build_record(
            g[0], today=_when(g[1], options), settings=settings),
            list(zip(gathered, parsed, strict=True)))
        timed("rules", lambda r: fire_rules(r, settings), records)
    return {k: round(v, 3) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--mix", choices=["population", "all"], default="population")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stages", action="store_true")
    args = parser.parse_args()
    results = []
    for patients in args.patients:
        folder = export_for(patients, args.mix)
        runs = [run_once(folder, args.workers) for _ in range(args.repeat)]
        median = {key: statistics.median(r[key] for r in runs)
                  for key in ("seconds", "per_second", "per_core", "peak_mib")}
        entry = {"patients": patients, "mix": args.mix, "workers": args.workers, "runs": runs,
                 "median": median}
        if args.stages:
            entry["stages_ms_per_patient"] = stages(folder)
        results.append(entry)
        print(f"{patients:>7} patients ({args.mix}, {args.workers} workers): median "
              f"{median['seconds']} s, {median['per_second']:.0f}/s, "
              f"{median['per_core']:.0f}/s/core "
              f"(target {TARGET_PER_CORE}), peak {median['peak_mib']:.0f} MiB "
              f"(target < {TARGET_PEAK_MIB}); runs: "
              + ", ".join(f"{r['per_core']}/s/core" for r in runs))
        if args.stages:
            print("  stages, ms per patient (one process):", entry["stages_ms_per_patient"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bulk.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
