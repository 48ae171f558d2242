"""A tiny FHIR server stand-in on loopback serving one fixture folder (for end-to-end CLI tests)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SEARCHABLE = ("MedicationRequest", "Condition", "CarePlan", "ServiceRequest")
FHIR_JSON = "application/fhir+json"


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def build_app(folder: Path, token: str | None = None) -> Starlette:
    """Serve Patient.json by id and the searchset Bundles by ?patient=; check a bearer token."""
    files = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}
    patient_id = files["Patient"]["id"]
    seen: list[str] = []

    def refused(request: Request) -> JSONResponse | None:
        seen.append(request.url.path)
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse(
                _outcome("login", "Unauthorized"),
                status_code=401,
                media_type=FHIR_JSON,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None

    async def read_patient(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        if request.path_params["id"] != patient_id:
            return JSONResponse(
                _outcome("not-found", "Patient not found"), status_code=404, media_type=FHIR_JSON
            )
        return JSONResponse(files["Patient"], media_type=FHIR_JSON)

    async def search(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        kind = request.path_params["kind"]
        if kind not in SEARCHABLE:
            return JSONResponse(
                _outcome("not-supported", "Unknown type"), status_code=404, media_type=FHIR_JSON
            )
        if request.query_params.get("patient") != patient_id:
            return JSONResponse(
                {"resourceType": "Bundle", "type": "searchset", "total": 0}, media_type=FHIR_JSON
            )
        return JSONResponse(
            files.get(kind, {"resourceType": "Bundle", "type": "searchset", "total": 0}),
            media_type=FHIR_JSON,
        )

    app = Starlette(routes=[Route("/r4/Patient/{id}", read_patient), Route("/r4/{kind}", search)])
    app.state.seen = seen
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_standin(folder: Path, token: str | None = None) -> Iterator[tuple[str, Starlette]]:
    """Run the stand-in with uvicorn in a background thread; yield (base URL, app)."""
    app = build_app(folder, token)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("FHIR stand-in did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/r4", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
