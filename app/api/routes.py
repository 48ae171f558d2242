"""CDS Hooks endpoints: discovery, service calls, feedback; plus health."""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.background import BackgroundTasks

from app.api.body import read_body, read_json
from app.api.state import AppState
from app.config import ALL_RULES
from app.errors import ServiceNotFound
from app.feedback.models import parse_feedback
from app.hooks.definitions import SERVICES, ServiceDefinition
from app.hooks.evaluate import evaluate_body, rule_of, silent_issued
from app.models.cards import CdsResponse
from app.observability.metrics import CALLS, CARDS, FEEDBACK, LATENCY, SILENT
from app.planner.link import with_public_base
from app.security.verify import CdsClient, expected_audience

log = logging.getLogger("app.api")
# Discovery extension naming each rule's mode (active / silent / off); reverse-domain style as
# the spec recommends for extension names.
RULE_MODES_EXTENSION = "org.benzo-safety-cds.rule-modes"
router = APIRouter()


def _json(content: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status_code, media_type="application/json")


def _state(request: Request) -> AppState:
    return request.app.state.cds  # type: ignore[no-any-return]


async def _authenticate(request: Request, state: AppState) -> CdsClient | None:
    """Verify the client's JWT when verification is on (CDS Hooks 2.0 'Trusting CDS Clients')."""
    if state.verifier is None:
        return None
    # `aud` is this endpoint's URL; the path is taken relative to any proxy root_path, which
    # public_base_url already carries.
    path, root = request.url.path, request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    audience = expected_audience(state.settings, str(request.url), path)
    return await state.verifier.verify(request.headers.get("authorization"), audience)


def _service(service_id: str) -> ServiceDefinition:
    service = SERVICES.get(service_id)
    if service is None:
        raise ServiceNotFound(
            f"No CDS service with id '{service_id[:64]}'. Known: {', '.join(SERVICES)}."
        )
    return service


@router.get("/cds-services")
async def discovery(request: Request) -> Response:
    await _authenticate(request, _state(request))
    CALLS.labels("discovery", "-", "200").inc()
    # Which rules are live is non-standard data: a discovery extension (CDS Hooks 2.0).
    modes = {rule: _state(request).settings.rule_mode(rule) for rule in ALL_RULES}
    return _json(
        {
            "services": [
                s.discovery() | {"extension": {RULE_MODES_EXTENSION: modes}}
                for s in SERVICES.values()
            ]
        }
    )


@router.post("/cds-services/{service_id}")
async def call_service(service_id: str, request: Request) -> Response:
    state = _state(request)
    service = _service(service_id)
    client = await _authenticate(request, state)
    started = time.perf_counter()
    raw = await read_body(request, state.settings.max_body_bytes)
    # The taper card links to this service's planner: the configured public URL, else this
    # request's base URL.
    settings = state.settings_for(str(request.base_url), with_public_base)
    evaluation = await evaluate_body(
        raw,
        service,
        http=state.http,
        settings=settings,
        allowed_fhir_servers=state.allowed_fhir_servers(client),
        store=state.store,
    )
    for card in evaluation.cards:
        CARDS.labels(rule_of(card), card.indicator).inc()
    for card in evaluation.silent:
        SILENT.labels(rule_of(card), card.indicator).inc()
    LATENCY.labels(service.id).observe(time.perf_counter() - started)
    CALLS.labels("service", service.id, "200").inc()
    log.info(
        "hook answered",
        extra={
            "service": service.id,
            "rules": [rule_of(c) for c in evaluation.cards],
            "snoozed": evaluation.snoozed,
            "sources": evaluation.gathered.sources,
            "silent": [{"rule": rule_of(c), "indicator": c.indicator} for c in evaluation.silent],
            "ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    response = _json(CdsResponse(cards=tuple(evaluation.cards)).to_json())
    # Remembering issued cards (for snooze) and silent ones (for the feedback report) does not
    # delay the clinician's answer.
    tasks = BackgroundTasks()
    if evaluation.issued:
        tasks.add_task(state.store.record_issued, service.id, evaluation.issued)
    if evaluation.silent:
        tasks.add_task(
            state.store.record_silent,
            service.id,
            silent_issued(evaluation),
            {c.uuid: c.indicator for c in evaluation.silent if c.uuid},
        )
    if tasks.tasks:
        response.background = tasks
    return response


@router.post("/cds-services/{service_id}/feedback")
async def feedback(service_id: str, request: Request) -> Response:
    state = _state(request)
    service = _service(service_id)
    await _authenticate(request, state)
    items = parse_feedback(await read_json(request, state.settings.max_body_bytes))
    stored = await state.store.record_feedback(service.id, items)
    for item in items:
        FEEDBACK.labels(item.outcome).inc()
    CALLS.labels("feedback", service.id, "200").inc()
    # Logged once, by the store ("feedback stored"), where the rows are written.
    return _json({"received": len(items), "stored": stored})


@router.get("/health")
async def health(request: Request) -> Response:
    """Readiness: 503 while this replica cannot reach its database (route traffic elsewhere)."""
    state = _state(request)
    database = await state.store.ping()
    ready = database == "ok"
    return _json(
        {
            "status": "ok" if ready else "unavailable",
            "database": database,
            "jwtVerification": state.verifier is not None,
        },
        200 if ready else 503,
    )


@router.get("/health/live")
async def liveness() -> Response:
    """Liveness: the process answers; never touches the database (restart only if this fails)."""
    return _json({"status": "ok"})
