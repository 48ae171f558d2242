"""A folder of FHIR bundles as resources by type and id, dates moved to one day."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from app.demo.timeshift import shift_dates
from app.fhir.bundles import latest_clinical_date

Resource = dict[str, Any]
# The reference fields that put a resource in a patient's compartment (R4 subject/patient).
PATIENT_FIELDS = ("subject", "patient")
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/.*)?$")
_URN_UUID = "urn:uuid:"


class FolderError(Exception):
    """The folder cannot be served (missing, unreadable, or no bundles in it)."""


@dataclass
class LoadedFile:
    name: str
    resources: int
    moved_days: int | None  # None: dates kept as written
    error: str | None = None


@dataclass
class FhirStore:
    """Resources by type and id; `files` says what each bundle contributed."""

    resources: dict[str, dict[str, Resource]] = field(default_factory=dict)
    files: list[LoadedFile] = field(default_factory=list)

    def add(self, resource: Resource) -> None:
        self.resources.setdefault(resource["resourceType"], {})[str(resource["id"])] = resource

    def read(self, kind: str, rid: str) -> Resource | None:
        return self.resources.get(kind, {}).get(rid)

    def of_type(self, kind: str) -> list[Resource]:
        return list(self.resources.get(kind, {}).values())

    @property
    def types(self) -> list[str]:
        return sorted(self.resources)


def patient_of(resource: Resource) -> str | None:
    """The id of the patient a resource is about (its subject or patient reference)."""
    if resource.get("resourceType") == "Patient":
        return str(resource.get("id"))
    for name in PATIENT_FIELDS:
        ref = resource.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            found = _PATIENT_REF.search(ref["reference"].strip())
            if found:
                return found[1]
    return None


def _manifest_days(folder: Path) -> dict[str, date]:
    """file -> as_of from the folder's manifest.csv (fhir_fixtures/bundles and samples have one)."""
    path = folder / "manifest.csv"
    if not path.is_file():
        return {}
    days = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                days[row["file"]] = date.fromisoformat(row["as_of"])
            except (KeyError, TypeError, ValueError):
                continue
    return days


def _resolve_urn_references(node: Any, targets: dict[str, str]) -> Any:
    """Replace `urn:uuid:` references to bundle entries by `Type/id`, as a server stores them."""
    if isinstance(node, dict):
        out = {k: _resolve_urn_references(v, targets) for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in targets:
            out["reference"] = targets[ref]
        return out
    if isinstance(node, list):
        return [_resolve_urn_references(item, targets) for item in node]
    return node


def bundle_resources(document: Any) -> list[Resource]:
    """The resources of a Bundle (or the single resource a file holds), each with type and id."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise ValueError("not a FHIR resource")
    entries: list[dict[str, Any]]
    if document["resourceType"] != "Bundle":
        entries = [{"resource": document}]
    else:
        entries = [e for e in document.get("entry") or [] if isinstance(e, dict)]
    targets = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in entries
        if isinstance(e.get("fullUrl"), str)
        and e["fullUrl"].startswith(_URN_UUID)
        and isinstance(e.get("resource"), dict)
        and e["resource"].get("resourceType")
        and e["resource"].get("id")
    }
    found = []
    for entry in entries:
        resource = entry.get("resource")
        if (
            isinstance(resource, dict)
            and isinstance(resource.get("resourceType"), str)
            and isinstance(resource.get("id"), str)
            and resource["id"]
        ):
            found.append(_resolve_urn_references(resource, targets) if targets else resource)
    return found


def load_folder(
    folder: Path, day: date, *, as_of: date | None = None, shift: bool = True
) -> FhirStore:
    """Every bundle in `folder`, dates moved from the day it describes to `day`."""
    if not folder.is_dir():
        raise FolderError(
            f"{folder} is not a directory" if folder.exists() else f"{folder} does not exist"
        )
    try:
        paths = sorted(folder.glob("*.json"))
    except OSError as error:
        raise FolderError(f"cannot read {folder}: {error.strerror or error}") from None
    if not paths:
        raise FolderError(f"no FHIR bundles (*.json) in {folder}")
    manifest = _manifest_days(folder)
    store = FhirStore()
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            resources = bundle_resources(document)
        except (OSError, ValueError) as error:
            message = error.strerror if isinstance(error, OSError) else str(error)
            store.files.append(LoadedFile(path.name, 0, None, message or type(error).__name__))
            continue
        written = (
            as_of
            or manifest.get(path.name)
            or latest_clinical_date({"entry": [{"resource": r} for r in resources]})
        )
        days = (day - written).days if (shift and written is not None) else None
        for resource in resources:
            store.add(shift_dates(resource, days) if days else resource)
        store.files.append(LoadedFile(path.name, len(resources), days))
    if not store.resources:
        raise FolderError(f"no FHIR resources could be read from the bundles in {folder}")
    return store
