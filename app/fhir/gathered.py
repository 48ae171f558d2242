"""What the gatherer hands to normalization: raw FHIR JSON, already de-paged and resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Resource = dict[str, Any]
# "unavailable": not prefetched and not fetchable (no usable fhirServer, or it failed); only
# for data the rules can do without (see Gathered.missing).
SourceKind = Literal["prefetch", "prefetch-null", "fhir", "context", "unavailable"]


class DataNeeds(Protocol):
    """What the gatherer is told about the service it gathers for (its definition lives higher
    up, in app/hooks/definitions.py): the prefetch templates and the data it cannot do without."""

    @property
    def prefetch(self) -> Mapping[str, str]: ...
    @property
    def required(self) -> frozenset[str]: ...


@dataclass
class Gathered:
    """Raw resources for one hook call, by kind; no validation beyond 'is a JSON object'."""

    patient_id: str
    hook: str
    patient: Resource | None = None
    medication_requests: list[Resource] = field(default_factory=list)  # chart orders
    conditions: list[Resource] = field(default_factory=list)
    care_plans: list[Resource] = field(default_factory=list)
    service_requests: list[Resource] = field(default_factory=list)
    # Medication resources found anywhere (bundles, draftOrders, fetched), keyed by
    # "Medication/<id>" and by fullUrl; `#id` contained references are resolved in place.
    medications: dict[str, Resource] = field(default_factory=dict)
    draft_orders: list[Resource] = field(default_factory=list)  # context.draftOrders resources
    selections: frozenset[str] = frozenset()  # context.selections
    sources: dict[str, SourceKind] = field(default_factory=dict)  # prefetch key -> where from
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count (no PHI)
    # Prefetch keys that could not be had, and the resource type each would have given
    # (e.g. {"carePlans": "CarePlan"}); never Patient or MedicationRequest (those are a 412).
    missing: dict[str, str] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count
