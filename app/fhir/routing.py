"""Where each resource a hook call gathers goes (app/fhir/gather.py does the fetching).

No I/O: which list of ``Gathered`` a resource joins, what is skipped and why (another
patient, a duplicate, the resource cap), the Medication index, and which medicationReferences
still need reading and from which URL (normal form, on the fhirServer only).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.config import Settings
from app.fhir.bundles import Resource, medication_reference, patient_ids, resource_type
from app.fhir.gathered import Gathered
from app.fhir.servers import BaseUrl, OffServer
from app.fhir.urls import UrlError

Entry = tuple[str | None, Resource]  # (fullUrl or fetch URL, resource)

_CHART_TARGETS = {
    "MedicationRequest": "medication_requests",
    "MedicationOrder": "medication_requests",  # DSTU2; normalization decides what to do with it
    "Condition": "conditions",
    "CarePlan": "care_plans",
    "ServiceRequest": "service_requests",
}
_ORDER_TYPES = ("MedicationRequest", "MedicationOrder")
_MEDICATION_REF = re.compile(r"(?:^|/)Medication/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class ChartRouter:
    """Routes one call's resources into its ``Gathered``; ``base`` is the fhirServer, if any."""

    def __init__(self, settings: Settings, patient_id: str, gathered: Gathered) -> None:
        self.settings = settings
        self.patient_id = patient_id
        self.gathered = gathered
        self.base: BaseUrl | None = None
        self.kept = 0
        self._seen: set[tuple[str, str]] = set()
        self._own_ref = f"Patient/{patient_id}"

    def route(self, full_url: str | None, resource: Resource) -> None:
        kind = resource["resourceType"]  # entries() and collect() only pass FHIR resources
        if kind == "Medication":
            self.index_medication(full_url, resource)
            return
        if kind == "OperationOutcome":
            self.gathered.skip("bundle-operation-outcome")
            return
        if kind != "Patient" and kind not in _CHART_TARGETS:
            self.gathered.skip("unexpected-resource-type")
            return
        if self.kept >= self.settings.max_resources_per_call:
            self.gathered.skip("resource-cap-reached")
            return
        rid = resource.get("id")
        if kind == "Patient":
            if isinstance(rid, str) and rid != self.patient_id:
                self.gathered.skip("wrong-patient")
                return
            if self.gathered.patient is not None:
                self.gathered.skip("duplicate-resource")
                return
            self.gathered.patient = resource
        else:
            if not self._names_only_this_patient(resource):
                self.gathered.skip("wrong-patient")
                return
            if isinstance(rid, str):
                if (kind, rid) in self._seen:
                    self.gathered.skip("duplicate-resource")
                    return
                self._seen.add((kind, rid))
            getattr(self.gathered, _CHART_TARGETS[kind]).append(resource)
        self.kept += 1

    def _names_only_this_patient(self, resource: Resource) -> bool:
        subject = resource.get("subject")
        # Nearly every resource says exactly "Patient/<id>": skip the reference parsing for it.
        if (
            type(subject) is dict
            and subject.get("reference") == self._own_ref
            and "patient" not in resource
        ):
            return True
        return not patient_ids(resource) - {self.patient_id}

    def index_medication(self, full_url: str | None, resource: Resource) -> None:
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            self.gathered.medications.setdefault(f"Medication/{rid}", resource)
        if full_url:
            self.gathered.medications.setdefault(full_url, resource)

    # --- medicationReference resolution ---

    def unresolved_medications(self, orders: Iterable[Resource]) -> dict[str, str]:
        """reference as written -> URL to read it from, for references not yet resolved."""
        wanted: dict[str, str] = {}
        for order in orders:
            if resource_type(order) not in _ORDER_TYPES:
                continue
            ref = medication_reference(order)
            if ref is None or ref.startswith("#") or ref in self.gathered.medications:
                continue
            absolute = "://" in ref
            try:
                if absolute and self.base is None:
                    raise OffServer
                # An absolute reference is read in normal form, the form that is requested.
                url = self.base.locate(ref) if absolute and self.base else None
            except UrlError:
                self.gathered.skip("medication-reference-unreadable")
                continue
            except OffServer:
                self.gathered.skip("medication-reference-off-server")
                continue
            match = _MEDICATION_REF.search(url or ref)
            if match is None or match.group(1) in (".", ".."):
                self.gathered.skip("medication-reference-unreadable")
                continue
            local = f"Medication/{match.group(1)}"
            if local in self.gathered.medications:
                if absolute:  # same server: the bundle's copy is the one referenced
                    self.gathered.medications[ref] = self.gathered.medications[local]
                continue
            if self.base is None:
                self.gathered.skip("medication-unresolved-no-fhir-server")
                continue
            wanted.setdefault(ref, url or self.base.locate(local))
        return wanted
