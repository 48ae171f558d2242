"""GET routes of the taper planner (issue #16): page, handout, CarePlan JSON and static files.

No JWT: the pages hold no patient data (the link carries none), so they are served in
production like any public page. Query values are never logged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.config import Settings
from app.planner import handout_page, planner_page
from app.planner.html import HEADERS, error_page
from app.planner.query import PlannerInputError, parse
from app.planner.schedule import PlannerResult, careplan, compute

# The package's static folder (app/static), shared with the preview page.
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(include_in_schema=False)
STATIC_FILES = {
    "planner.css": "text/css",
    "handout.css": "text/css",
    "planner.js": "text/javascript",
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.cds.settings  # app.state is untyped (Starlette)
    return settings


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def _bad(problems: list[str]) -> HTMLResponse:
    return _html(error_page(problems, back=planner_page.PATH), 400)


def _read(request: Request) -> PlannerResult | list[str]:
    try:
        query = parse(_params(request), _settings(request).today())
    except PlannerInputError as error:
        return error.problems
    return compute(query, _settings(request))


def _resource(result: PlannerResult) -> dict[str, Any] | None:
    return careplan(result) if result.query.dose_mg is not None else None


@router.get(planner_page.PATH)
async def planner(request: Request) -> HTMLResponse:
    if not request.query_params:
        return _html(planner_page.render(None, None, None))
    found = _read(request)
    if isinstance(found, list):
        return _bad(found)
    return _html(planner_page.render(found.query, found, _resource(found)))


@router.get(handout_page.PATH)
async def handout(request: Request) -> HTMLResponse:
    found = _read(request)
    if isinstance(found, list):
        return _bad(found)
    if found.query.dose_mg is None:
        return _bad(["dose: the handout needs the confirmed total daily dose (mg a day)."])
    if found.plan is None:
        return _bad([f"No schedule for these choices: {found.reason}"])
    return _html(handout_page.render(found))


@router.get(planner_page.PATH + "/careplan.json")
async def careplan_json(request: Request) -> Response:
    found = _read(request)
    problems = found if isinstance(found, list) else []
    if isinstance(found, PlannerResult) and found.query.dose_mg is None:
        problems = ["dose: the CarePlan needs the confirmed total daily dose (mg a day)."]
    resource = _resource(found) if isinstance(found, PlannerResult) and not problems else None
    if resource is None:
        problems = problems or ["The CarePlan could not be built for these choices."]
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid", "diagnostics": p} for p in problems],
        }
        return Response(
            json.dumps(outcome),
            status_code=400,
            media_type="application/fhir+json",
            headers=HEADERS,
        )
    return Response(
        json.dumps(resource, indent=2, ensure_ascii=False),
        media_type="application/fhir+json",
        headers={**HEADERS, "Content-Disposition": 'attachment; filename="taper-careplan.json"'},
    )


@router.get(planner_page.PATH + "/static/{name}")
async def static(name: str) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        return Response("Not found.", status_code=404, media_type="text/plain")
    return FileResponse(
        STATIC_DIR / name,
        media_type=media_type,
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
