"""The read-only FHIR R4 HTTP API over a FhirStore: metadata, read, search (GET and POST)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.fhir_server.search import COMMON_PARAMS, SearchError, parse_search, run_search, searchset
from app.fhir_server.store import FhirStore

FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
MAX_FORM_BYTES = 64 * 1024
_NAME = "benzo-cds fhir-server"
_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def outcome(status: int, code: str, text: str) -> Response:
    return FhirResponse(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}],
        },
        status_code=status,
    )


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def capability_statement(store: FhirStore, base: str, note: str) -> dict[str, Any]:
    """What this server can do: read and search-type on every type it holds."""
    params = [
        {"name": name, "type": kind}
        for name, kind in (
            ("_id", "token"),
            ("patient", "reference"),
            ("subject", "reference"),
            ("status", "token"),
        )
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": _NAME},
        "implementation": {"description": note, "url": base},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read-only. Search by GET or POST [type]/_search with "
                    f"{', '.join(COMMON_PARAMS)}; other parameters are ignored unless "
                    "'Prefer: handling=strict'."
                ),
                "resource": [
                    {
                        "type": kind,
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": params,
                    }
                    for kind in store.types
                ],
            }
        ],
    }


def build_app(store: FhirStore, note: str = "") -> Starlette:
    """The ASGI app; `note` describes the data (for the CapabilityStatement)."""

    async def metadata(request: Request) -> Response:
        return FhirResponse(capability_statement(store, base_url(request), note))

    async def read(request: Request) -> Response:
        kind, rid = request.path_params["kind"], request.path_params["id"]
        if not _TYPE.match(kind):
            return outcome(404, "not-found", f"{kind} is not a FHIR resource type")
        resource = store.read(kind, rid)
        if resource is None:
            return outcome(404, "not-found", f"{kind}/{rid} is not on this server")
        return FhirResponse(resource)

    async def search(request: Request) -> Response:
        kind = request.path_params["kind"]
        if not _TYPE.match(kind):
            return outcome(404, "not-found", f"{kind} is not a FHIR resource type")
        params = list(request.query_params.multi_items())
        if request.method == "POST":
            body = await request.body()
            if len(body) > MAX_FORM_BYTES:
                return outcome(413, "too-costly", "search form too large")
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if body and content_type != "application/x-www-form-urlencoded":
                return outcome(
                    415, "not-supported", "POST _search takes application/x-www-form-urlencoded"
                )
            params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=False)
        strict = "handling=strict" in request.headers.get("prefer", "").replace(" ", "")
        try:
            wanted = parse_search(kind, params, strict=strict)
        except SearchError as error:
            return outcome(400, "invalid", str(error))
        return FhirResponse(searchset(wanted, run_search(store, wanted), base_url(request)))

    async def root(_: Request) -> Response:
        return outcome(
            404,
            "not-found",
            "This is a FHIR server: its base URL is this address; try /metadata or /Patient",
        )

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/metadata", metadata, methods=["GET"]),
        Route("/{kind:str}/_search", search, methods=["POST"]),
        Route("/{kind:str}/{id:str}", read, methods=["GET"]),
        Route("/{kind:str}", search, methods=["GET"]),
    ]

    async def not_allowed(request: Request, _: Exception) -> Response:
        return outcome(
            405, "not-supported", f"{request.method} is not supported: this server is read-only"
        )

    async def not_found(request: Request, _: Exception) -> Response:
        return outcome(404, "not-found", f"nothing at {request.url.path}")

    # The CDS Hooks Sandbox is a web page on another origin: it needs CORS (and Chrome's
    # private-network preflight when that page is public and this server is on loopback).
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["Accept", "Authorization", "Content-Type", "Prefer"],
            allow_private_network=True,
        )
    ]
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={404: not_found, 405: not_allowed}
    )
