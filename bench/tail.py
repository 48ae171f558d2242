"""Where the slow calls come from: in-process call times with the garbage collector's pauses.

`python -m bench.tail [--case patient-view-typical] [--calls 2000] [--patients 1000]` runs the
calls back to back through the ASGI app (the service's own GC settings, warmed on other
patients) and reports the median, p99 and worst call, how often each GC generation ran, and
how much of the slowest 1% of calls is a collection. What is left of the slow calls is work
(a taper plan computed for a dose not seen before, a new sig read) or, under load, waiting
for a core: wrk's p99 at 32 connections is mostly queueing behind other calls.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from typing import Any

from bench.inprocess import CASES, SERVICE_PATH, WARMUP_SEED, bodies, call, check, running


class _Pauses:
    """gc.callbacks: the wall time of each collection, by generation."""

    def __init__(self) -> None:
        self.started = 0
        self.log: list[tuple[int, int, int]] = []  # (generation, start ns, duration ns)

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self.started = now
        else:
            self.log.append((info["generation"], self.started, now - self.started))


async def measure(case_name: str, calls: int, patients: int) -> dict[str, Any]:
    case = CASES[case_name]
    payloads = bodies(case, patients)
    warm = bodies(case, min(patients, 300), WARMUP_SEED)
    path = SERVICE_PATH[case.hook]
    pauses = _Pauses()
    spans: list[tuple[int, int]] = []
    async with running(case) as app:
        for body in warm:
            check(await call(app, path, body))
        gc.callbacks.append(pauses)
        try:
            for index in range(calls):
                started = time.perf_counter_ns()
                check(await call(app, path, payloads[index % len(payloads)]))
                spans.append((started, time.perf_counter_ns()))
        finally:
            gc.callbacks.remove(pauses)
    times = sorted(end - start for start, end in spans)
    p99 = times[int(len(times) * 0.99)]
    slow = [(s, e) for s, e in spans if e - s >= p99]

    def paused(start: int, end: int) -> int:
        return sum(d for _, at, d in pauses.log if start <= at < end)

    by_gen = {g: [d for gen, _, d in pauses.log if gen == g] for g in (0, 1, 2)}
    return {
        "calls": calls,
        "p50_ms": statistics.median(times) / 1e6,
        "p99_ms": p99 / 1e6,
        "max_ms": times[-1] / 1e6,
        "collections": {g: len(v) for g, v in by_gen.items()},
        "collection_ms_max": {g: (max(v) / 1e6 if v else 0.0) for g, v in by_gen.items()},
        "slowest_1pct_with_gc": sum(1 for s, e in slow if paused(s, e)) / max(len(slow), 1),
        "slowest_1pct_gc_share": sum(paused(s, e) for s, e in slow)
        / max(sum(e - s for s, e in slow), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tail",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--case",
        default="patient-view-typical",
        choices=[c for c, v in CASES.items() if v.app == "service"],
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--patients", type=int, default=1000)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.case, args.calls, args.patients))
    print(
        f"{args.case}: {result['calls']} calls in process, wall ms: p50 "
        f"{result['p50_ms']:.2f}, p99 {result['p99_ms']:.2f}, max {result['max_ms']:.2f}"
    )
    print(
        f"  collections by generation {result['collections']}, longest (ms) "
        f"{ {g: round(v, 2) for g, v in result['collection_ms_max'].items()} }"
    )
    print(
        f"  slowest 1%: {result['slowest_1pct_with_gc']:.0%} had a collection; collections "
        f"are {result['slowest_1pct_gc_share']:.0%} of their time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
