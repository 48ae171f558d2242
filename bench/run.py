"""The benchmark: `python -m bench.run [--quick] [--duration S]` (see README "Performance").

Starts the service (and a bare FastAPI floor, and a FHIR stand-in) with uvicorn on 127.0.0.1,
drives each with wrk, prints one table and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import orjson

from bench import data
from bench.servers import HOST, ROOT, BenchError, Server, free_port
from bench.wrk import Load, ensure_wrk, run_wrk, wrk_version

RESULTS = ROOT / "bench" / "results" / "latest.json"
FLOOR_APP = "bench.floor_app:app"
SERVICE_APP = "app.main:app"
STANDIN_APP = "bench.fhir_standin:app"
FHIR_TARGET_RATIO = 1.2  # issue #15: fallback with its queries <= 1.2x one query
DEFAULT_PATIENTS = 1000  # distinct generated patients each body file rotates through

Target = Literal["floor", "floor-gc", "floor-json", "service", "standin"]


@dataclass(frozen=True)
class Scenario:
    name: str
    target: Target
    path: str
    body: str | None  # key of a generated body file; None = GET
    floor: str = "floor"  # the floor scenario parsing bodies of the same size


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("floor", "floor", "/cds-services/benzo-safety-patient-view", "patient-view-typical"),
    Scenario(
        "floor-heavy",
        "floor",
        "/cds-services/benzo-safety-order-select",
        "order-select-heavy",
        floor="floor-heavy",
    ),
    # The floor with the service's runtime settings (its start-up GC tuning).
    Scenario(
        "floor-gc",
        "floor-gc",
        "/cds-services/benzo-safety-patient-view",
        "patient-view-typical",
        floor="floor-gc",
    ),
    Scenario(
        "floor-gc-heavy",
        "floor-gc",
        "/cds-services/benzo-safety-order-select",
        "order-select-heavy",
        floor="floor-gc-heavy",
    ),
    # A peer service's floor: FastAPI parsing with the standard library's json module.
    Scenario(
        "floor-json-heavy",
        "floor-json",
        "/cds-services/benzo-safety-order-select",
        "order-select-heavy",
        floor="floor-json-heavy",
    ),
    Scenario(
        "patient-view-typical",
        "service",
        "/cds-services/benzo-safety-patient-view",
        "patient-view-typical",
    ),
    Scenario(
        "patient-view-heavy",
        "service",
        "/cds-services/benzo-safety-patient-view",
        "patient-view-heavy",
        floor="floor-heavy",
    ),
    Scenario(
        "order-select-typical",
        "service",
        "/cds-services/benzo-safety-order-select",
        "order-select-typical",
    ),
    Scenario(
        "order-select-heavy",
        "service",
        "/cds-services/benzo-safety-order-select",
        "order-select-heavy",
        floor="floor-heavy",
    ),
    Scenario(
        "fhir-fallback", "service", "/cds-services/benzo-safety-patient-view", "fhir-fallback"
    ),
    Scenario("fhir-one-query", "standin", "/fhir/MedicationRequest?patient=bench-typical", None),
)
QUICK_SCENARIOS = ("floor", "patient-view-typical")


@dataclass(frozen=True)
class Plan:
    scenarios: tuple[Scenario, ...]
    workers: tuple[int, ...]
    connections: tuple[int, ...]
    duration_s: float
    seed: int
    quick: bool
    out: Path
    database_url: str | None = None
    patients: int = DEFAULT_PATIENTS


def parse_args(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke mode: 1 s per cell, 1 worker, floor + typical patient-view, "
        "1 and 8 connections",
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per cell (default 10; 1 with --quick)"
    )
    parser.add_argument(
        "--workers", type=int, nargs="+", default=None, help="uvicorn worker counts (default 1 2)"
    )
    parser.add_argument(
        "--connections",
        type=int,
        nargs="+",
        default=None,
        help="wrk connection counts (default 1 32)",
    )
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=None,
        choices=[s.name for s in SCENARIOS],
        help="subset of scenarios",
    )
    parser.add_argument("--seed", type=int, default=data.DEFAULT_SEED)
    parser.add_argument(
        "--patients",
        type=int,
        default=None,
        help=f"distinct patients per body file (default {DEFAULT_PATIENTS}; 50 with --quick)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON path")
    parser.add_argument(
        "--database-url",
        default=None,
        help="the service's database (e.g. postgresql+asyncpg://...); default: "
        "a fresh SQLite file per worker count",
    )
    args = parser.parse_args(argv)
    names = args.scenarios or (QUICK_SCENARIOS if args.quick else [s.name for s in SCENARIOS])
    return Plan(
        scenarios=tuple(s for s in SCENARIOS if s.name in names),
        workers=tuple(args.workers or ((1,) if args.quick else (1, 2))),
        connections=tuple(args.connections or ((1, 8) if args.quick else (1, 32))),
        duration_s=args.duration or (1.0 if args.quick else 10.0),
        seed=args.seed,
        quick=args.quick,
        out=args.out,
        database_url=args.database_url,
        patients=args.patients or (50 if args.quick else DEFAULT_PATIENTS),
    )


def write_bodies(directory: Path, seed: int, fhir_server: str, patients: int) -> dict[str, Path]:
    """Every body file once: one request per line, ``patients`` distinct patients each."""
    builders = {
        "patient-view-typical": (data.TYPICAL, data.patient_view_request, {}),
        "patient-view-heavy": (data.HEAVY, data.patient_view_request, {}),
        "order-select-typical": (data.TYPICAL, data.order_select_request, {}),
        "order-select-heavy": (data.HEAVY, data.order_select_request, {}),
        "fhir-fallback": (data.TYPICAL, data.patient_view_request, {"fhir_server": fhir_server}),
    }
    paths = {}
    for name, (size, build, extra) in builders.items():
        path = directory / f"{name}.jsonl"
        with path.open("wb") as out:
            for index, patient in enumerate(data.rotation(size, patients, seed)):
                out.write(orjson.dumps(build(patient, seed=seed + index, **extra)) + b"\n")
        paths[name] = path
    return paths


def _first_body(path: Path) -> bytes:
    with path.open("rb") as lines:
        return lines.readline().rstrip(b"\n")


def preflight(url: str, body_file: Path | None, attempts: int) -> None:
    """A few requests before measuring: they warm up each worker and prove the answer is right."""
    payload = _first_body(body_file) if body_file else None
    for _ in range(attempts):
        request = urllib.request.Request(
            url,
            data=payload,
            method="POST" if payload else "GET",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                status, text = reply.status, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            raise BenchError(f"preflight request failed: {error}") from None
        if status != 200:
            raise BenchError(f"preflight got HTTP {status}: {text[:500]}")
        answer = json.loads(text)
        expected = "cards" if payload else "resourceType"
        if not isinstance(answer, dict) or expected not in answer:
            raise BenchError(f"preflight answer has no {expected!r}: {text[:300]}")


def _row(scenario: Scenario, workers: int | None, load: Load) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "workers": workers,
        "connections": load.connections,
        "threads": load.threads,
        "duration_s": load.duration_s,
        "error": None,
    }


def measure(
    wrk: str,
    base_url: str,
    scenario: Scenario,
    workers: int | None,
    load: Load,
    bodies: dict[str, Path],
) -> dict[str, Any]:
    row = _row(scenario, workers, load)
    body = bodies[scenario.body] if scenario.body else None
    try:
        preflight(base_url + scenario.path, body, attempts=3 * (workers or 1))
        report = run_wrk(wrk, base_url + scenario.path, load, body)
    except BenchError as error:
        row["error"] = str(error)
        return row
    lat = report["latency_us"]
    row.update(
        {
            "requests": report["requests"],
            "non_200": report["non_200"],
            "socket_errors": sum(report["errors"].values()),
            "p50_ms": lat["p50"] / 1000,
            "p90_ms": lat["p90"] / 1000,
            "p99_ms": lat["p99"] / 1000,
            "mean_ms": lat["mean"] / 1000,
            "max_ms": lat["max"] / 1000,
            "requests_per_s": report["requests_per_s"],
            "wrk": report,
        }
    )
    if report["requests"] == 0:
        row["error"] = "wrk completed no request"
    elif report["non_200"] or row["socket_errors"]:
        row["error"] = (
            f"{report['non_200']} responses were not HTTP 200 and "
            f"{row['socket_errors']} socket errors/timeouts occurred"
        )
    return row


def loads(plan: Plan) -> list[Load]:
    return [
        Load(connections=c, threads=1 if c == 1 else 2, duration_s=plan.duration_s)
        for c in plan.connections
    ]


def service_env(
    tmp: Path, workers: int, standin_port: int, database_url: str | None = None
) -> dict[str, str]:
    return {
        "BENZO_CDS_EVALUATION_DATE": data.EVALUATION_DATE.isoformat(),
        "BENZO_CDS_DATABASE_URL": database_url
        or f"sqlite+aiosqlite:///{tmp / f'bench-w{workers}.db'}",
        "BENZO_CDS_LOG_LEVEL": "WARNING",
        "BENZO_CDS_ALLOWED_FHIR_SERVERS": f"http://{HOST}:{standin_port}",
    }


def run_plan(plan: Plan, wrk: str, tmp: Path) -> list[dict[str, Any]]:
    standin_port = free_port()
    bodies = write_bodies(tmp, plan.seed, f"http://{HOST}:{standin_port}/fhir", plan.patients)
    rows: list[dict[str, Any]] = []
    needs_standin = any(s.name in ("fhir-fallback", "fhir-one-query") for s in plan.scenarios)
    with ExitStack() as stack:
        standin: Server | None = None
        if needs_standin:
            standin = stack.enter_context(
                Server(
                    "fhir-standin",
                    STANDIN_APP,
                    ready_path="/fhir/metadata",
                    log_dir=tmp,
                    port=standin_port,
                    env={"BENCH_STANDIN_SEED": str(plan.seed)},
                )
            )
        for workers in plan.workers:
            for target, app, env in (
                ("floor", FLOOR_APP, {}),
                ("floor-gc", FLOOR_APP, {"BENCH_FLOOR_GC": "1"}),
                ("floor-json", FLOOR_APP, {"BENCH_FLOOR_PARSER": "json"}),
                (
                    "service",
                    SERVICE_APP,
                    service_env(tmp, workers, standin_port, plan.database_url),
                ),
            ):
                group = [s for s in plan.scenarios if s.target == target]
                if group:
                    rows += _run_group(plan, wrk, tmp, target, app, env, workers, group, bodies)
        standin_group = [s for s in plan.scenarios if s.target == "standin"]
        for scenario in standin_group:
            for load in loads(plan):
                if standin is not None:
                    rows.append(measure(wrk, standin.base_url, scenario, None, load, bodies))
    return rows


def _run_group(
    plan: Plan,
    wrk: str,
    tmp: Path,
    target: str,
    app: str,
    env: dict[str, str],
    workers: int,
    group: list[Scenario],
    bodies: dict[str, Path],
) -> list[dict[str, Any]]:
    rows = []
    try:
        with Server(target, app, workers=workers, env=env, log_dir=tmp) as server:
            for scenario in group:
                for load in loads(plan):
                    print(
                        f"  {scenario.name} workers={workers} connections={load.connections}",
                        file=sys.stderr,
                        flush=True,
                    )
                    rows.append(measure(wrk, server.base_url, scenario, workers, load, bodies))
    except BenchError as error:
        done = {(r["scenario"], r["connections"]) for r in rows}
        for scenario in group:
            for load in loads(plan):
                if (scenario.name, load.connections) not in done:
                    rows.append({**_row(scenario, workers, load), "error": str(error)})
    return rows


_SAME_SIZE = {
    "floor": ("floor", "floor-gc", None),
    "floor-heavy": ("floor-heavy", "floor-gc-heavy", "floor-json-heavy"),
}


def add_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """p50 over the floors' p50 per row (the bench floor, the floor with the service's GC
    settings, and for heavy bodies the stdlib-json floor); and fallback over one query."""
    floor = {
        (r["scenario"], r["workers"], r["connections"]): r["p50_ms"]
        for r in rows
        if r["scenario"].startswith("floor") and r.get("p50_ms")
    }
    by_name = {s.name: s for s in SCENARIOS}
    one_query = {
        r["connections"]: r["p50_ms"]
        for r in rows
        if r["scenario"] == "fhir-one-query" and r.get("p50_ms")
    }
    for row in rows:
        scenario = by_name.get(row["scenario"])
        body = scenario.body if scenario else None
        same = (
            _SAME_SIZE["floor-heavy" if body and "heavy" in body else "floor"]
            if body
            else (None, None, None)
        )
        for key, name in zip(
            ("p50_vs_floor", "p50_vs_floor_gc", "p50_vs_floor_json"), same, strict=True
        ):
            base = floor.get((name, row["workers"], row["connections"])) if name else None
            row[key] = (
                row["p50_ms"] / base
                if base and row.get("p50_ms") and row["scenario"] != "fhir-one-query"
                else None
            )
    comparisons = []
    for row in rows:
        single = one_query.get(row["connections"])
        if row["scenario"] == "fhir-fallback" and single and row.get("p50_ms"):
            ratio = row["p50_ms"] / single
            comparisons.append(
                {
                    "workers": row["workers"],
                    "connections": row["connections"],
                    "fallback_p50_ms": row["p50_ms"],
                    "one_query_p50_ms": single,
                    "ratio": ratio,
                    "target": FHIR_TARGET_RATIO,
                    "meets_target": ratio <= FHIR_TARGET_RATIO,
                }
            )
    return comparisons


def _cell(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    header = (
        "scenario",
        "workers",
        "conns",
        "p50 ms",
        "p99 ms",
        "req/s",
        "p50/floor",
        "p50/floor-gc",
        "p50/floor-json",
        "requests",
        "non-200",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                r["scenario"],
                _cell(r["workers"]),
                str(r["connections"]),
                _cell(r.get("p50_ms")),
                _cell(r.get("p99_ms")),
                _cell(r.get("requests_per_s"), 1),
                _cell(r.get("p50_vs_floor")),
                _cell(r.get("p50_vs_floor_gc")),
                _cell(r.get("p50_vs_floor_json")),
                _cell(r.get("requests")),
                _cell(r.get("non_200")),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def environment(wrk: str) -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        ).stdout.strip()
        or None
    )
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "wrk": wrk_version(wrk),
        "git_commit": commit,
        **{pkg: version(pkg) for pkg in ("uvicorn", "fastapi", "uvloop", "httptools", "orjson")},
    }


def _terminate(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception so every server's context manager stops it.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        wrk = ensure_wrk()
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    started = time.monotonic()
    print(
        f"benchmark: {len(plan.scenarios)} scenarios x workers {list(plan.workers)} x "
        f"connections {list(plan.connections)}, {plan.duration_s:g} s per cell",
        file=sys.stderr,
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="benzo-bench-") as tmp:
        rows = run_plan(plan, wrk, Path(tmp))
    order = {s.name: i for i, s in enumerate(SCENARIOS)}
    rows.sort(key=lambda r: (order[r["scenario"]], r["workers"] or 0, r["connections"]))
    comparisons = add_ratios(rows)
    print(format_table(rows))
    for c in comparisons:
        print(
            f"FHIR fallback vs one query (workers={c['workers']}, connections="
            f"{c['connections']}): {c['fallback_p50_ms']:.1f} / {c['one_query_p50_ms']:.1f} ms"
            f" = {c['ratio']:.2f}x (target <= {c['target']}x: "
            f"{'met' if c['meets_target'] else 'NOT met'})"
        )
    failed = [r for r in rows if r["error"]]
    reasons: dict[str, list[str]] = {}
    for r in failed:
        reasons.setdefault(r["error"], []).append(
            f"{r['scenario']} (workers={_cell(r['workers'])}, connections={r['connections']})"
        )
    for reason, cells in reasons.items():
        print(f"FAILED {', '.join(cells)}:\n{reason}", file=sys.stderr)
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.monotonic() - started, 1),
        "plan": {
            "quick": plan.quick,
            "duration_s": plan.duration_s,
            "seed": plan.seed,
            "workers": list(plan.workers),
            "connections": list(plan.connections),
            "scenarios": [s.name for s in plan.scenarios],
            "patients": plan.patients,
            "evaluation_date": data.EVALUATION_DATE.isoformat(),
            "code_sources": data.load_catalog().sources,
        },
        "environment": environment(wrk),
        "rows": rows,
        "fhir_fallback_vs_one_query": comparisons,
        "ok": not failed,
    }
    plan.out.parent.mkdir(parents=True, exist_ok=True)
    plan.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results: {plan.out}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
