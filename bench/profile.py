"""Profile N in-process calls of one scenario (default: heavy order-select) to find hot spots.

`python -m bench.profile [--calls 200] [--request order-select-heavy]` runs the calls through the
ASGI app with httpx.ASGITransport under pyinstrument (cProfile when pyinstrument is missing) and
prints the top of the profile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import data

REQUESTS = {
    "order-select-heavy": ("benzo-safety-order-select", data.HEAVY, data.order_select_request),
    "order-select-typical": ("benzo-safety-order-select", data.TYPICAL, data.order_select_request),
    "patient-view-heavy": ("benzo-safety-patient-view", data.HEAVY, data.patient_view_request),
    "patient-view-typical": ("benzo-safety-patient-view", data.TYPICAL, data.patient_view_request),
}


def _settings(db_dir: Path) -> Any:
    from app.config import Settings

    return Settings(
        _env_file=None,
        evaluation_date=data.EVALUATION_DATE,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{db_dir / 'profile.db'}",
        log_level="WARNING",
    )


async def _calls(app: Any, path: str, body: bytes, count: int) -> float:
    """Run `count` calls; return seconds per call. Every answer must be HTTP 200."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:
        started = time.perf_counter()
        for _ in range(count):
            reply = await client.post(path, content=body, headers=headers)
            if reply.status_code != 200:
                raise RuntimeError(f"HTTP {reply.status_code}: {reply.text[:300]}")
        return (time.perf_counter() - started) / count


async def profile(request: str, calls: int, warmup: int, seed: int) -> str:
    import orjson

    from app.main import create_app

    service_id, size, build = REQUESTS[request]
    body = orjson.dumps(build(data.make_patient(size, seed), seed=seed))
    path = f"/cds-services/{service_id}"
    with tempfile.TemporaryDirectory(prefix="benzo-profile-") as tmp:
        app = create_app(_settings(Path(tmp)))
        async with app.router.lifespan_context(app):
            await _calls(app, path, body, warmup)
            plain = await _calls(app, path, body, calls)
            try:
                from pyinstrument import Profiler
            except ImportError:
                Profiler = None  # noqa: N806
            if Profiler is not None:
                profiler = Profiler(interval=0.0005, async_mode="enabled")
                profiler.start()
                per_call = await _calls(app, path, body, calls)
                profiler.stop()
                report = profiler.output_text(unicode=True, color=False, show_all=False)
            else:
                cprof = cProfile.Profile()
                cprof.enable()
                per_call = await _calls(app, path, body, calls)
                cprof.disable()
                out = io.StringIO()
                pstats.Stats(cprof, stream=out).sort_stats("cumulative").print_stats(40)
                report = "pyinstrument is not installed; cProfile instead:\n" + out.getvalue()
    head = (
        f"{request} (body {len(body) / 1024:.0f} KiB), {calls} calls in process: "
        f"{plain * 1000:.2f} ms per call unprofiled, {per_call * 1000:.2f} ms profiled\n"
    )
    return head + report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--request", choices=sorted(REQUESTS), default="order-select-heavy")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=data.DEFAULT_SEED)
    parser.add_argument("--lines", type=int, default=80, help="profile lines to print (0: all)")
    args = parser.parse_args(argv)
    # Benchmarks measure the service, not its logging of each call.
    os.environ.setdefault("BENZO_CDS_LOG_LEVEL", "WARNING")
    report = asyncio.run(profile(args.request, args.calls, args.warmup, args.seed))
    lines = report.splitlines()
    print("\n".join(lines[: args.lines] if args.lines else lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
