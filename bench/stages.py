"""CPU time per stage of a hook call, in process, rotating through distinct patients.

`python -m bench.stages [--case order-select-heavy] [--calls 300] [--patients 300]` prints the
median CPU microseconds (process time, so other processes' load moves it little) of each
stage, for the typed reader and the lenient one, next to the whole call through the ASGI app
and the floor's. "framework" is the whole call less its stages (routing, middleware, body read,
metrics, logging, snooze lookup).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from bench.inprocess import (
    CASES,
    SERVICE_PATH,
    WARMUP_SEED,
    Case,
    bodies,
    call,
    check,
    running,
)

Clock = Callable[[], int]
_now: Clock = time.process_time_ns


async def _typed_stages(raw: bytes, case: Case, settings: Any) -> dict[str, float]:
    from app.cards import run_rules
    from app.hooks.definitions import SERVICES
    from app.models.cards import CdsResponse
    from app.normalize import typed

    service = SERVICES[SERVICE_PATH[case.hook].rsplit("/", 1)[1]]
    t0 = _now()
    body = typed.decode(raw)
    t1 = _now()
    chart = typed.read_chart(body, service, None, settings.max_resources_per_call)
    t2 = _now()
    record = typed.build_record(chart, today=settings.today(), settings=settings)
    t3 = _now()
    cards = run_rules(record, settings)
    t4 = _now()
    orjson.dumps(CdsResponse(cards=tuple(cards)).to_json())
    t5 = _now()
    return {
        "decode": t1 - t0,
        "envelope+prefetch": t2 - t1,
        "record": t3 - t2,
        "rules": t4 - t3,
        "response": t5 - t4,
    }


async def _lenient_stages(
    raw: bytes, case: Case, settings: Any, http: httpx.AsyncClient
) -> dict[str, float]:
    from app.cards import run_rules
    from app.fhir.gather import gather
    from app.hooks.definitions import SERVICES
    from app.hooks.evaluate import count_resources
    from app.models.cards import CdsResponse
    from app.models.hooks import parse_hook_request
    from app.normalize import build_record

    service = SERVICES[SERVICE_PATH[case.hook].rsplit("/", 1)[1]]
    t0 = _now()
    body = orjson.loads(raw)
    t1 = _now()
    request, context = parse_hook_request(body, service.hook)
    count_resources(body)
    t2 = _now()
    gathered = await gather(request, context, service, http, settings, None)
    t3 = _now()
    record = build_record(gathered, today=settings.today(), settings=settings)
    t4 = _now()
    cards = run_rules(record, settings)
    t5 = _now()
    orjson.dumps(CdsResponse(cards=tuple(cards)).to_json())
    t6 = _now()
    return {
        "decode": t1 - t0,
        "envelope+prefetch": t3 - t1,
        "record": t4 - t3,
        "rules": t5 - t4,
        "response": t6 - t5,
        "(gather alone)": t3 - t2,
    }


async def measure(case_name: str, calls: int, patients: int) -> dict[str, dict[str, float]]:
    case = CASES[case_name]
    payloads = bodies(case, patients)
    warm = bodies(case, min(patients, 200), WARMUP_SEED)
    floor_case = CASES["floor-heavy" if case.size.name == "heavy" else "floor"]
    path = SERVICE_PATH[case.hook]
    out: dict[str, dict[str, float]] = {}
    async with running(floor_case) as floor:
        await _whole(floor, path, warm, len(warm))
        out["floor"] = {"whole call": await _whole(floor, path, payloads, calls)}
    async with running(case) as app:
        for body in warm:
            check(await call(app, path, body))
        settings = app.state.cds.settings
        typed_runs: list[dict[str, float]] = []
        lenient_runs: list[dict[str, float]] = []
        async with httpx.AsyncClient() as http:
            for index in range(calls):
                raw = payloads[index % len(payloads)]
                # Each reader goes first on every other call: neither always finds the
                # content-keyed caches (dose readings, classifications) warmed by the other.
                if index % 2:
                    typed_runs.append(await _typed_stages(raw, case, settings))
                lenient_runs.append(await _lenient_stages(raw, case, settings, http))
                if not index % 2:
                    typed_runs.append(await _typed_stages(raw, case, settings))
        whole = await _whole(app, path, payloads, calls)
    for label, runs in (("typed", typed_runs), ("lenient", lenient_runs)):
        stages = {k: statistics.median(r[k] for r in runs) / 1000 for k in runs[0]}
        stages["sum of stages"] = sum(v for k, v in stages.items() if not k.startswith("("))
        out[label] = stages
    out["typed"]["whole call"] = whole
    out["typed"]["framework"] = whole - out["typed"]["sum of stages"]
    return out


async def _whole(app: Any, path: str, payloads: list[bytes], calls: int) -> float:
    times = []
    for index in range(calls):
        body = payloads[index % len(payloads)]
        started = _now()
        check(await call(app, path, body))
        times.append(_now() - started)
    return statistics.median(times) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--case",
        default="order-select-heavy",
        choices=[c for c, v in CASES.items() if v.app == "service"],
    )
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--patients", type=int, default=300)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.case, args.calls, args.patients))
    print(
        f"{args.case}: median CPU µs per call over {args.calls} calls, "
        f"{args.patients} distinct patients"
    )
    for label, stages in result.items():
        for stage, value in stages.items():
            print(f"  {label:8s} {stage:20s} {value:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
