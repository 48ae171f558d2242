"""In-process hook calls for the noise-free measures: the ASGI apps, bodies, a bare ASGI caller.

Shared by ``bench.instructions`` (callgrind instructions per call) and ``bench.stages`` (CPU
time per stage). Every measured call goes through the whole ASGI app (routing, middleware,
body read, response), without sockets or an HTTP parser, which the floor skips too.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import data

SERVICE_PATH = {
    "patient-view": "/cds-services/benzo-safety-patient-view",
    "order-select": "/cds-services/benzo-safety-order-select",
}


@dataclass(frozen=True)
class Case:
    """One measured scenario: which app answers, which bodies it rotates through."""

    name: str
    app: str  # "service", "floor" (orjson), "floor-gc" (orjson, service GC), "floor-json"
    size: data.PatientSize
    hook: str


CASES = {
    c.name: c
    for c in (
        Case("floor", "floor", data.TYPICAL, "patient-view"),
        Case("floor-gc", "floor-gc", data.TYPICAL, "patient-view"),
        Case("floor-heavy", "floor", data.HEAVY, "order-select"),
        Case("floor-gc-heavy", "floor-gc", data.HEAVY, "order-select"),
        Case("floor-json-heavy", "floor-json", data.HEAVY, "order-select"),
        Case("patient-view-typical", "service", data.TYPICAL, "patient-view"),
        Case("patient-view-heavy", "service", data.HEAVY, "patient-view"),
        Case("order-select-typical", "service", data.TYPICAL, "order-select"),
        Case("order-select-heavy", "service", data.HEAVY, "order-select"),
    )
}


# Warm-up traffic comes from other patients than the measured ones: caches keyed by content
# (dose readings, drug and problem codes, taper schedules) start as a long-running worker's
# would, and nothing measured was seen before.
WARMUP_SEED = data.DEFAULT_SEED + 1_000_000


def bodies(case: Case, patients: int, seed: int = data.DEFAULT_SEED) -> list[bytes]:
    """``patients`` distinct request bodies (bench.data.rotation) as the bytes sent."""
    build = data.patient_view_request if case.hook == "patient-view" else data.order_select_request
    return [
        orjson.dumps(build(p, seed=seed + i))
        for i, p in enumerate(data.rotation(case.size, patients, seed))
    ]


def floor_app(kind: str) -> Any:
    os.environ["BENCH_FLOOR_PARSER"] = "json" if kind == "floor-json" else "orjson"
    os.environ["BENCH_FLOOR_GC"] = "1" if kind == "floor-gc" else "0"
    from bench import floor_app as module

    return module.build()


@asynccontextmanager
async def running(case: Case) -> AsyncIterator[Any]:
    """The case's app with its lifespan run (the service's start-up tunes the GC)."""
    if case.app != "service":
        app = floor_app(case.app)
    else:
        from app.config import Settings
        from app.main import create_app

        tmp = tempfile.mkdtemp(prefix="benzo-inprocess-")
        app = create_app(
            Settings(  # type: ignore[call-arg]
                _env_file=None,
                evaluation_date=data.EVALUATION_DATE,
                log_level="WARNING",
                database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
            )
        )
    async with app.router.lifespan_context(app):
        yield app


async def call(app: Any, path: str, body: bytes) -> int:
    """One POST through the ASGI app; its status (the answer must be read, not trusted)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench.local"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    state = {"sent": False, "status": 0}

    async def receive() -> dict[str, Any]:
        if not state["sent"]:
            state["sent"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            state["status"] = message["status"]

    await app(scope, receive, send)
    return int(state["status"])


def check(status: int) -> None:
    if status != 200:
        raise RuntimeError(f"in-process call answered HTTP {status}")


def dump(values: dict[str, Any]) -> str:
    return json.dumps(values, indent=2)
