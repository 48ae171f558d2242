"""The benchmark floor: a bare FastAPI app that parses the whole JSON body and answers no cards."""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

app = FastAPI(title="benzo-safety-cds benchmark floor", docs_url=None, redoc_url=None,
              openapi_url=None)
_NO_CARDS = orjson.dumps({"cards": []})


@app.get("/cds-services")
async def discovery() -> Response:
    return Response(orjson.dumps({"services": []}), media_type="application/json")


@app.post("/cds-services/{service_id}")
async def call(service_id: str, request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict):
        return Response(b'{"error": "not an object"}', status_code=400,
                        media_type="application/json")
    return Response(_NO_CARDS, media_type="application/json")
