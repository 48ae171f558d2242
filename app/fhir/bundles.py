"""Small readers for raw FHIR JSON: is it a resource, a Bundle's entries and next link."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

Resource = dict[str, Any]

_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def resource_type(value: Any) -> str | None:
    """The resourceType of a FHIR resource object, or None when `value` is not one."""
    if isinstance(value, dict):
        kind = value.get("resourceType")
        if isinstance(kind, str) and kind:
            return kind
    return None


def is_bundle(value: Any) -> bool:
    return resource_type(value) == "Bundle"


def entries(bundle: Resource) -> tuple[list[tuple[str | None, Resource]], int]:
    """(fullUrl, resource) pairs of a Bundle, and how many entries had no resource object."""
    raw = bundle.get("entry")
    if not isinstance(raw, list):
        return [], 0
    found: list[tuple[str | None, Resource]] = []
    bad = 0
    for entry in raw:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource_type(resource) is None:
            bad += 1
            continue
        full_url = entry.get("fullUrl")
        found.append((full_url if isinstance(full_url, str) else None, resource))
    return found, bad


def next_link(bundle: Resource) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        url = link.get("url") if isinstance(link, dict) else None
        if isinstance(url, str) and link.get("relation") == "next" and url.strip():
            return url.strip()
    return None


def patient_ids(resource: Resource) -> set[str]:
    """Patient ids named by subject/patient references (R4 subject, DSTU2 patient)."""
    ids: set[str] = set()
    for field in ("subject", "patient"):
        ref = resource.get(field)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            match = _PATIENT_REF.search(ref["reference"].strip())
            if match:
                ids.add(match.group(1))
    return ids


def medication_reference(resource: Resource) -> str | None:
    """The medicationReference.reference of a MedicationRequest/MedicationOrder, if any."""
    ref = resource.get("medicationReference")
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        return ref["reference"].strip() or None
    return None


# The dates an old record is read "as of" (`evaluate --date latest`, the demo and the FHIR
# server's date shift): when each order, problem and plan was written.
CLINICAL_DATE_FIELDS = ("authoredOn", "onsetDateTime", "recordedDate", "created")


def latest_day(values: Iterable[object]) -> date | None:
    """The latest of the values that begin with an ISO date (YYYY-MM-DD); others are ignored."""
    found: date | None = None
    for value in values:
        if isinstance(value, str) and len(value) >= 10:
            try:
                day = date.fromisoformat(value[:10])
            except ValueError:
                continue
            if found is None or day > found:
                found = day
    return found


def latest_clinical_date(bundle: Resource) -> date | None:
    """The latest clinical date among a Bundle's resources."""
    raw = bundle.get("entry")
    resources = (
        [e.get("resource") for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []
    )
    return latest_day(
        r.get(name) for r in resources if isinstance(r, dict) for name in CLINICAL_DATE_FIELDS
    )
