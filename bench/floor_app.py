"""The benchmark floor: a bare FastAPI app that parses the whole JSON body and answers no cards.

Variants by environment (read when the app is built):
- BENCH_FLOOR_PARSER: ``orjson`` (default, the bench floor) or ``json`` (the standard library,
  the way a typical peer service parses);
- BENCH_FLOOR_GC: ``1`` applies the service's start-up GC settings (app/api/gc_tuning.py), so the
  floor runs with the same runtime settings as the service; ``0`` (default) leaves CPython's.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from app.api.gc_tuning import tune_gc

_NO_CARDS = orjson.dumps({"cards": []})
SERVICE_GC_THRESHOLD = 10_000  # app.config.Settings.gc_threshold's default


def build() -> FastAPI:
    parse: Callable[[bytes], Any] = (
        json.loads if os.environ.get("BENCH_FLOOR_PARSER", "orjson") == "json" else orjson.loads
    )
    service_gc = os.environ.get("BENCH_FLOOR_GC", "0") == "1"

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if service_gc:
            tune_gc(SERVICE_GC_THRESHOLD)
        yield

    floor = FastAPI(
        title="benzo-safety-cds benchmark floor",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    @floor.get("/cds-services")
    async def discovery() -> Response:
        return Response(orjson.dumps({"services": []}), media_type="application/json")

    @floor.post("/cds-services/{service_id}")
    async def call(service_id: str, request: Request) -> Response:
        body = parse(await request.body())
        if not isinstance(body, dict):
            return Response(
                b'{"error": "not an object"}', status_code=400, media_type="application/json"
            )
        return Response(_NO_CARDS, media_type="application/json")

    return floor


app = build()
