"""Hook fixtures and FHIR bundles moved from the day they were written for to another day."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from app.demo.timeshift import shift_dates

# Test metadata on every bundled hook request: the day its expected cards assume
# (fhir_fixtures/README.md). The service never reads it; only tools that move fixtures do.
EVALUATION_DATE_KEY = "org.benzo-safety-cds.evaluation-date"
# Resource fields that say when something happened, for a bundle's "latest" day.


def written_for(request: dict[str, Any]) -> date | None:
    """The evaluation day a bundled hook request was written for, if it says so."""
    extension = request.get("extension")
    value = extension.get(EVALUATION_DATE_KEY) if isinstance(extension, dict) else None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def move(document: dict[str, Any], written: date | None, day: date) -> dict[str, Any]:
    """`document` with its dates moved from `written` to `day` (a copy, unchanged if unknown)."""
    if written is None:
        return copy.deepcopy(document)
    moved: dict[str, Any] = shift_dates(document, (day - written).days)
    return moved


def request_for_day(request: dict[str, Any], day: date) -> dict[str, Any]:
    """A bundled hook request as if it had been written for `day` (its cards stay the same)."""
    return move(request, written_for(request), day)
