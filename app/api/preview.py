"""Developer card preview page: run bundled hook fixtures and see the cards as an EHR shows them.

The page itself renders cards in the browser from the real POST /cds-services/{id} answer;
this module only serves the static page and the bundled fixtures (read-only).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from app.demo.fixtures import request_for_day

router = APIRouter()

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
DEFAULT_FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fhir_fixtures"
# Read per request (not via Settings) so a running preview can be pointed at another folder.
FIXTURES_ENV = "BENZO_CDS_FIXTURES_DIR"
# Only hook requests and samples are offered; server stand-in folders hold raw FHIR search
# pages served by test doubles, not hook requests.
FIXTURE_FOLDERS = ("hooks", "samples")
EXCLUDED_PARTS = frozenset({"servers", "server"})
STATIC_FILES = {"preview.js": "text/javascript", "preview.css": "text/css"}


def fixtures_dir() -> Path:
    """The fixtures root: BENZO_CDS_FIXTURES_DIR or the repository's fhir_fixtures/."""
    configured = os.environ.get(FIXTURES_ENV, "").strip()
    return (Path(configured) if configured else DEFAULT_FIXTURES_DIR).resolve()


def list_fixtures(root: Path) -> list[str]:
    """Relative POSIX paths of the bundled *.json hook fixtures, sorted."""
    found: list[str] = []
    for folder in FIXTURE_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*.json"):
            relative = path.relative_to(root)
            if EXCLUDED_PARTS.isdisjoint(relative.parts) and _inside(path, root):
                found.append(relative.as_posix())
    return sorted(found)


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root) and path.resolve().is_file()
    except (OSError, ValueError):
        return False


def resolve_fixture(root: Path, relative: str) -> Path | None:
    """The fixture file for `relative`, or None when it is not an offered fixture."""
    if "\x00" in relative or not relative.endswith(".json"):
        return None
    candidate = root / relative
    if not _inside(candidate, root):
        return None
    # Also require it to be one of the listed fixtures (no server stand-ins, no expected.json).
    listed = candidate.resolve().relative_to(root).as_posix()
    return candidate.resolve() if listed in list_fixtures(root) else None


@router.get("/preview", include_in_schema=False)
async def preview_page() -> HTMLResponse:
    html = (STATIC_DIR / "preview.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/preview/static/{name}", include_in_schema=False)
async def preview_static(name: str) -> FileResponse:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="Not found.")
    return FileResponse(
        STATIC_DIR / name, media_type=media_type, headers={"Cache-Control": "no-store"}
    )


@router.get("/preview/fixtures", include_in_schema=False)
async def preview_fixtures() -> JSONResponse:
    return JSONResponse(list_fixtures(fixtures_dir()))


@router.get("/preview/fixtures/{relative:path}", include_in_schema=False)
async def preview_fixture(relative: str, request: Request) -> Response:
    path = resolve_fixture(fixtures_dir(), relative)
    if path is None:
        raise HTTPException(status_code=404, detail="No such fixture.")
    try:
        fixture = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        # Shown as it is: the page reports what the service says about it.
        return FileResponse(path, media_type="application/json")
    if not isinstance(fixture, dict):
        return FileResponse(path, media_type="application/json")
    # Dates moved to the service's day, so the fixture shows its listed cards on any day.
    return JSONResponse(request_for_day(fixture, request.app.state.cds.settings.today()))
