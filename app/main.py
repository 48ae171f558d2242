"""The ASGI application: `app.main:app`."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import settings_check
from app.api import metrics_endpoint, preview, routes
from app.api.gc_tuning import tune_gc
from app.api.metrics_server import start_metrics_server
from app.api.state import AppState
from app.config import Settings, get_settings
from app.errors import CdsError, InvalidRequest, Unauthorized
from app.feedback.db import make_engine
from app.feedback.migrate import SchemaOutOfDate
from app.feedback.store import FeedbackStore
from app.fhir.client import make_fhir_client
from app.hooks.definitions import SERVICES
from app.observability.logs import configure_logging
from app.observability.metrics import CALLS, service_label
from app.observability.metrics_workers import worker_stopped
from app.observability.request_id import RequestIdMiddleware
from app.planner import routes as planner_routes
from app.security.replay_db import DatabaseReplayStore
from app.security.verify import JwtVerifier

log = logging.getLogger("app")


def _error_response(error: CdsError) -> Response:
    headers = error.headers()
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = error.challenge()
    return Response(
        orjson.dumps(error.body()),
        status_code=error.status_code,
        media_type="application/json",
        headers=headers,
    )


def _enabled(flag: bool | None, settings: Settings) -> bool:
    """An optional surface: as set, else on in development only."""
    return flag if flag is not None else settings.environment == "development"


def _startup_checks(settings: Settings) -> None:
    if settings.environment == "production":
        problems = settings.production_problems()
        if problems:
            raise RuntimeError("Refusing to start in production: " + "; ".join(problems))
        return
    if not settings.verify_jwt:
        log.warning(
            "!!! JWT VERIFICATION IS OFF: any caller is trusted. Development only; "
            "set BENZO_CDS_ENVIRONMENT=production with trusted issuers for real use. !!!"
        )
    if not settings.allowed_fhir_servers and not settings.verify_jwt:
        log.warning(
            "No BENZO_CDS_ALLOWED_FHIR_SERVERS: access tokens may be sent to any "
            "fhirServer a caller names (development default)."
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; tests pass their own Settings."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = make_engine(settings)
    http = make_fhir_client(settings)
    store = FeedbackStore(engine, settings)
    # Every worker and replica on one database refuses a jti any of them accepted. A busy
    # pool makes the check wait (up to the write bound) rather than fall back to this process.
    replay = DatabaseReplayStore(engine, store.availability, timeout=store.bound_seconds)
    state = AppState(
        settings=settings,
        http=http,
        store=store,
        verifier=JwtVerifier(settings, replay_store=replay) if settings.verify_jwt else None,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _startup_checks(settings)
        try:
            await state.store.init()
        except SchemaOutOfDate as error:
            raise RuntimeError(f"Refusing to start in production: {error}") from None
        tune_gc(settings.gc_threshold)
        metrics_server = (
            start_metrics_server(settings) if settings.metrics_port is not None else None
        )
        yield
        if metrics_server is not None:
            metrics_server.stop()
        await http.aclose()
        if state.verifier is not None:
            await state.verifier.aclose()
        # Cards queued for writing (write-behind) go to the database before the pool closes.
        await state.store.aclose()
        await engine.dispose()
        worker_stopped()

    docs = _enabled(settings.api_docs_enabled, settings)
    app = FastAPI(
        title="benzo-safety-cds",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.cds = state
    app.include_router(routes.router)
    # The taper planner and handout hold no patient data: served without JWT, in production too.
    app.include_router(planner_routes.router)
    if metrics_endpoint.served_on_service_port(settings):
        app.include_router(metrics_endpoint.router)
    if _enabled(settings.preview_enabled, settings):
        # The preview runs bundled fixtures through the service; off in production by default.
        app.include_router(preview.router)

    # Browser clients (the CDS Hooks Sandbox) need CORS; preflight is answered without auth.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID"],
        max_age=600,
    )
    app.add_middleware(RequestIdMiddleware)  # outermost of ours: errors carry the id too

    @app.exception_handler(CdsError)
    async def cds_error(request: Request, error: CdsError) -> Response:
        if isinstance(error, Unauthorized):
            log.warning(
                "client authentication failed: reason=%s iss=%r",
                error.reason,
                error.iss,
                extra={"reason": error.reason, "iss": error.iss, "path": request.url.path},
            )
        else:
            log.info(
                "request refused",
                extra={
                    "status": error.status_code,
                    "path": request.url.path,
                    "error": type(error).__name__,
                },
            )
        CALLS.labels(_endpoint(request), _service_label(request), str(error.status_code)).inc()
        return _error_response(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> Response:
        return _error_response(
            InvalidRequest(
                "The request is malformed.",
                details=[f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()],
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> Response:
        body = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "not-found" if error.status_code == 404 else "invalid",
                    "diagnostics": str(error.detail),
                }
            ],
        }
        return Response(
            orjson.dumps(body),
            status_code=error.status_code,
            media_type="application/json",
            headers=error.headers,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # Type only: exception messages can carry patient data.
        log.error(
            "unexpected error", extra={"error": type(error).__name__, "path": request.url.path}
        )
        CALLS.labels(_endpoint(request), _service_label(request), "500").inc()
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "fatal", "code": "exception", "diagnostics": "Internal error."}],
        }
        return Response(orjson.dumps(body), status_code=500, media_type="application/json")

    return app


def _service_label(request: Request) -> str:
    return service_label(request.url.path, frozenset(SERVICES))


def _endpoint(request: Request) -> str:
    path = request.url.path
    if path.endswith("/feedback"):
        return "feedback"
    return "service" if path.startswith("/cds-services/") else "other"


def _app_from_environment() -> FastAPI:
    """`uvicorn app.main:app`: a bad configuration exits 2 with one line per problem."""
    application = create_app(settings_check.checked_settings())
    for warning in settings_check.all_warnings(os.environ):
        log.warning(warning)
    return application


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    """`app` is built from the environment on first use (`uvicorn app.main:app`), so importing
    create_app neither reads the environment nor stops on a configuration meant for serving."""
    global _app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _app is None:
        _app = _app_from_environment()
    return _app
