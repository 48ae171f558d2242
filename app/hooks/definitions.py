"""The services this CDS server offers: one per hook, with their 2.0 prefetch templates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from app.fhir.prefetch import PREFETCH, REQUIRED_DATA

Focus = Literal["chart", "selected-drafts", "all-drafts"]


@dataclass(frozen=True)
class ServiceDefinition:
    id: str
    hook: str
    title: str
    description: str
    focus: Focus
    prefetch: dict[str, str]
    required: frozenset[str] = REQUIRED_DATA

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(self.prefetch),
            "usageRequirements": USAGE,
        }


USAGE = (
    "Advisory only. Needs the patient's Patient and MedicationRequest resources (prefetch "
    "or fhirAuthorization); Condition, CarePlan and ServiceRequest are optional: without "
    "them cards say what could not be checked, and the CBT-I card stays quiet."
)

_WHAT = (
    "benzodiazepine safety: opioid or other CNS-depressant overlap, missing taper plan or "
    "off-ramp, risk in adults 65 and older (AGS Beers 2023), and CBT-I for insomnia"
)

SERVICES: dict[str, ServiceDefinition] = {
    s.id: s
    for s in (
        ServiceDefinition(
            id="benzo-safety-patient-view",
            hook="patient-view",
            title="Benzodiazepine safety review",
            description=f"Reviews the whole medication list when a chart is opened for {_WHAT}.",
            focus="chart",
            prefetch=PREFETCH,
        ),
        ServiceDefinition(
            id="benzo-safety-order-select",
            hook="order-select",
            title="Benzodiazepine safety check for selected orders",
            description=f"Checks the selected draft medication orders for {_WHAT}.",
            focus="selected-drafts",
            prefetch=PREFETCH,
        ),
        ServiceDefinition(
            id="benzo-safety-order-sign",
            hook="order-sign",
            title="Benzodiazepine safety check before signing",
            description=f"Checks all draft medication orders before signing for {_WHAT}.",
            focus="all-drafts",
            prefetch=PREFETCH,
        ),
    )
}
