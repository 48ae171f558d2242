"""Benchmark of the population dry run on generated Bulk FHIR exports (speed and memory).

    python -m bench.bulk --patients 10000 100000 [--mix population] [--repeat 3] [--stages]

Generates each export once (bench/results/bulk-<mix>-<n>/, gitignored), then runs what a user
runs, `benzo-cds evaluate EXPORT --workers N --json`, as a subprocess `--repeat` times, and
prints patients per second, per second per core, per CPU-second of the process tree (user +
system time of the command and its workers: what "per core" means on an idle machine), and
the peak memory of the command's process tree (sampled every 50 ms): the sum of PSS (shared
pages counted once, in shares: forked workers share the parent's pages, which a sum of RSS
counts once per worker), with the sum of RSS beside it. `--stages` adds a one-process profile
of where a patient's time goes. The machine is shared and noisy: compare medians of runs made
back to back, and read the load average printed with each run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.bulk_export import write_export
from bench.bulk_stages import stages
from bench.data import EVALUATION_DATE

RESULTS = Path(__file__).with_name("results")
ROOT = Path(__file__).resolve().parents[1]
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


def _memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB; (0, 0) once it has gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except (OSError, ValueError):
        return 0, 0
    return pss, rss


class TreeMemory:
    """Peaks of the summed PSS and RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_pss_kib = self.peak_rss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids, todo = [], [self.pid]
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo += _children(pid)
            sizes = [_memory_kib(p) for p in pids]
            self.peak_pss_kib = max(self.peak_pss_kib, sum(s[0] for s in sizes))
            self.peak_rss_kib = max(self.peak_rss_kib, sum(s[1] for s in sizes))
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


def _env() -> dict[str, str]:
    """This environment without BENZO_CDS_* settings (a stray .env or shell export would
    change what is measured), the bench's fixed date, the checkout on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENZO_CDS_")}
    env.update(BENZO_CDS_EVALUATION_DATE=EVALUATION_DATE.isoformat(), PYTHONPATH=str(ROOT))
    return env


def _children_cpu() -> float:
    """User + system CPU seconds of this process's waited-for descendants: the command and
    the workers it joined. Unlike wall time, it does not grow when other jobs take the cores."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(folder: Path, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "app.cli",
            "evaluate",
            str(folder),
            "--out",
            out,
            "--date",
            EVALUATION_DATE.isoformat(),
            "--workers",
            str(workers),
            "--json",
        ]
        load = os.getloadavg()[0]
        cpu_before = _children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=out, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        with TreeMemory(process.pid) as memory:
            stdout, stderr = process.communicate()
        seconds = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
    if process.returncode != 0:
        raise SystemExit(f"benzo-cds evaluate exited {process.returncode}: {stderr.decode()}")
    result = json.loads(stdout)
    patients = result["summary"]["patients"]
    return {
        "patients": patients,
        "seconds": round(seconds, 2),
        "reading_seconds": result["run"].get("seconds reading (partition)"),
        "per_second": round(patients / seconds),
        "per_core": round(patients / seconds / workers),
        "cpu_seconds": round(cpu, 1),
        "per_cpu_second": round(patients / cpu),
        "peak_mib": round(memory.peak_pss_kib / 1024),
        "peak_rss_sum_mib": round(memory.peak_rss_kib / 1024),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "with_cards": result["summary"]["patients_with_cards"],
    }


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
        runs = []
        for _ in range(args.repeat):
            runs.append(run_once(folder, args.workers))
            print(f"  run: {runs[-1]}", flush=True)
        median = {
            key: statistics.median(r[key] for r in runs)
            for key in (
                "seconds",
                "per_second",
                "per_core",
                "per_cpu_second",
                "peak_mib",
                "load_before",
            )
        }
        entry = {
            "patients": patients,
            "mix": args.mix,
            "workers": args.workers,
            "runs": runs,
            "median": median,
        }
        if args.stages:
            entry["stages_ms_per_patient"] = stages(folder)
        results.append(entry)
        print(
            f"{patients:>7} patients ({args.mix}, {args.workers} workers): median "
            f"{median['seconds']} s, {median['per_second']:.0f}/s, "
            f"{median['per_core']:.0f}/s/core (target {TARGET_PER_CORE}), "
            f"{median['per_cpu_second']:.0f} per CPU-second, peak "
            f"{median['peak_mib']:.0f} MiB PSS (target < {TARGET_PEAK_MIB}), load "
            f"{median['load_before']:.1f}; runs: "
            + ", ".join(f"{r['per_core']}/s/core" for r in runs),
            flush=True,
        )
        if args.stages:
            print("  stages, ms per patient (one process):", entry["stages_ms_per_patient"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bulk.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
