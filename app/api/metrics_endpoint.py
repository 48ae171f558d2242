"""GET /metrics (Prometheus text), behind a bearer token when BENZO_CDS_METRICS_TOKEN is set.

Where it is served is decided in app/main.py: on the service port in development, or with a
token; on its own port (app/api/metrics_server.py) when BENZO_CDS_METRICS_PORT is set; else not at
all. The counters carry no patient data, but call volumes, error rates and card counts per rule
are nobody's business on a port every EHR caller (or the internet) can reach.
"""

from __future__ import annotations

import hmac
import logging

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.config import Settings
from app.errors import Unauthorized
from app.observability.metrics import render

log = logging.getLogger("app.api")
router = APIRouter()


def served_on_service_port(settings: Settings) -> bool:
    """Whether the main app answers /metrics (otherwise it is a 404 there)."""
    if settings.metrics_port is not None:
        return False
    return settings.metrics_token is not None or settings.environment == "development"


def metrics_response(settings: Settings, authorization: str | None) -> Response:
    """The Prometheus text, or a 401 with a Bearer challenge when the token is missing/wrong."""
    expected = settings.metrics_token
    if expected is not None:
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.get_secret_value().encode()
        ):
            error = Unauthorized(
                "missing-authorization"
                if not authorization
                else "bad-scheme"
                if scheme.lower() != "bearer"
                else "bad-metrics-token"
            )
            log.warning("metrics authentication failed", extra={"reason": error.reason})
            return Response(
                orjson.dumps(error.body()),
                status_code=401,
                media_type="application/json",
                headers={"WWW-Authenticate": error.challenge()},
            )
    content, media_type = render()
    return Response(content, media_type=media_type)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return metrics_response(request.app.state.cds.settings, request.headers.get("authorization"))
