"""FHIR search over the store: the parameters this server supports, paging, searchset Bundles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from app.fhir_server.store import FhirStore, Resource, patient_of

DEFAULT_COUNT = 100
MAX_COUNT = 1000
# Searchable on every type; `patient` and `subject` also mean "in this patient's compartment".
COMMON_PARAMS = ("_id", "patient", "subject", "status", "_count", "_offset")
# Accepted and ignored without a word (they change the format, not the result).
FORMAT_PARAMS = frozenset({"_format", "_pretty", "_summary", "_elements"})


class SearchError(ValueError):
    """A search this server cannot answer correctly (400 with an OperationOutcome)."""


@dataclass(frozen=True)
class Search:
    kind: str
    ids: frozenset[str] | None
    patients: frozenset[str] | None
    statuses: frozenset[str] | None
    count: int
    offset: int
    ignored: tuple[str, ...]

    def used(self) -> list[tuple[str, str]]:
        """The parameters applied, for the self and next links (FHIR: echo only those)."""
        pairs = []
        for name, values in (
            ("_id", self.ids),
            ("patient", self.patients),
            ("status", self.statuses),
        ):
            if values is not None:
                pairs.append((name, ",".join(sorted(values))))
        return pairs


def _values(raw: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip() for item in raw for v in item.split(",") if v.strip())


def _patient_id(value: str) -> str:
    """`x`, `Patient/x` or `https://host/fhir/Patient/x` -> `x`."""
    value = value.strip().rstrip("/")
    return value.rsplit("Patient/", 1)[-1] if "Patient/" in value else value


def _int(name: str, raw: list[str], default: int) -> int:
    if not raw:
        return default
    try:
        value = int(raw[-1])
    except ValueError:
        raise SearchError(f"{name} must be a whole number") from None
    if value < 0:
        raise SearchError(f"{name} must not be negative")
    return value


def parse_search(kind: str, params: list[tuple[str, str]], *, strict: bool) -> Search:
    """A Search from query or form parameters; unknown ones are ignored unless `strict`."""
    by_name: dict[str, list[str]] = {}
    for name, value in params:
        by_name.setdefault(name, []).append(value)
    known = set(COMMON_PARAMS) | FORMAT_PARAMS
    # Modifiers (`subject:Patient`) and other parameters are not supported: FHIR lets a
    # server ignore them, and the self link then shows what was applied.
    ignored = tuple(sorted(name for name in by_name if name not in known))
    if strict and ignored:
        raise SearchError(
            f"unsupported search parameters: {', '.join(ignored)} (this server "
            f"supports {', '.join(COMMON_PARAMS)})"
        )
    patients = None
    for name in ("patient", "subject"):
        if name in by_name:
            wanted = frozenset(_patient_id(v) for v in _values(by_name[name]))
            patients = wanted if patients is None else patients & wanted
    return Search(
        kind=kind,
        ids=_values(by_name["_id"]) if "_id" in by_name else None,
        patients=patients,
        statuses=_values(by_name["status"]) if "status" in by_name else None,
        count=min(_int("_count", by_name.get("_count", []), DEFAULT_COUNT), MAX_COUNT),
        offset=_int("_offset", by_name.get("_offset", []), 0),
        ignored=ignored,
    )


def matches(search: Search, resource: Resource) -> bool:
    if search.ids is not None and str(resource.get("id")) not in search.ids:
        return False
    if search.patients is not None and patient_of(resource) not in search.patients:
        return False
    return search.statuses is None or resource.get("status") in search.statuses


def run_search(store: FhirStore, search: Search) -> list[Resource]:
    found = [r for r in store.of_type(search.kind) if matches(search, r)]
    return sorted(found, key=lambda r: str(r.get("id")))


def searchset(search: Search, found: list[Resource], base: str) -> Resource:
    """One page of results as a FHIR searchset Bundle, with self and next links."""
    page = found[search.offset : search.offset + search.count] if search.count else []

    def link(offset: int) -> str:
        query = urlencode(search.used() + [("_count", str(search.count)), ("_offset", str(offset))])
        return f"{base}/{search.kind}?{query}"

    links = [{"relation": "self", "url": link(search.offset)}]
    if search.count and search.offset + search.count < len(found):
        links.append({"relation": "next", "url": link(search.offset + search.count)})
    bundle: Resource = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
        "type": "searchset",
        "total": len(found),
        "link": links,
    }
    if page:  # FHIR JSON has no empty arrays
        bundle["entry"] = [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in page
        ]
    return bundle
