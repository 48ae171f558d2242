"""A typed hook body -> its validated envelope and the chart it carries, when prefetch covers it.

This is app/fhir/gather.py for the one case that needs no I/O (every prefetch key sent, no
next page, every medicationReference found in the body), over typed resources and without
async tasks. Anything else raises NotFast and the call takes the lenient path, which fetches,
counts and reports as it always has.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec import UNSET

from app.errors import InvalidRequest
from app.fhir.gathered import DataNeeds
from app.fhir.prefetch import PREFETCH
from app.fhir.servers import is_allowed, parse_base
from app.models.hooks import BaseContext, DraftOrdersBundle, HookRequest, parse_hook_request
from app.normalize.typed import schema as s

# The lenient gatherer's logger: the same warning, from the same place, whichever path runs.
log = logging.getLogger("app.fhir.gather")
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_READ_KEYS = frozenset(k for k, t in PREFETCH.items() if "?" not in t)


class NotFast(Exception):
    """This body needs the lenient reader (an odd shape, data to fetch, or an error to report)."""


@dataclass
class Chart:
    """The typed counterpart of app.gathered.Gathered for a call answered from prefetch alone."""

    request: HookRequest
    context: BaseContext
    patient_id: str
    hook: str
    patient: s.Patient | None = None
    medication_requests: list[s.MedicationRequest] = field(default_factory=list)
    conditions: list[s.Condition] = field(default_factory=list)
    care_plans: list[s.CarePlan] = field(default_factory=list)
    service_requests: list[s.ServiceRequest] = field(default_factory=list)
    medications: dict[str, s.Medication] = field(default_factory=dict)
    draft_orders: list[Any] = field(default_factory=list)
    selections: frozenset[str] = frozenset()
    sources: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count


def decode(raw: bytes) -> s.HookBody:
    try:
        return s.DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        raise NotFast from None


def _envelope(body: s.HookBody, hook: str) -> tuple[HookRequest, BaseContext]:
    """The pydantic envelope models of the lenient path, fed the envelope without the data."""
    ctx = body.context
    context: dict[str, Any] = {}
    for name in ("userId", "patientId", "encounterId", "selections"):
        value = getattr(ctx, name)
        if value is not UNSET:
            context[name] = value
    if ctx.draftOrders is not UNSET:
        context["draftOrders"] = {"resourceType": "Bundle", "entry": []}
    envelope: dict[str, Any] = {"context": context, "prefetch": None}
    for name in ("hook", "hookInstance", "fhirServer", "fhirAuthorization"):
        value = getattr(body, name)
        if value is not UNSET:
            envelope[name] = value
    try:
        return parse_hook_request(envelope, hook)
    except InvalidRequest:
        raise NotFast from None


def count_resources(body: s.HookBody) -> int:
    """app.hooks.evaluate.count_resources over the typed body."""
    total = 0
    prefetch = body.prefetch
    values: list[object] = (
        [getattr(prefetch, k) for k in PREFETCH] if isinstance(prefetch, s.Prefetch) else []
    )
    drafts = body.context.draftOrders
    for value in [*values, drafts]:
        if isinstance(value, s.Bundle | s.DraftOrders):
            total += len(value.entry) if value.entry is not None else 1
        elif isinstance(value, s.Patient):
            total += 1
    return total


def _names_only(resource: Any, own_ref: str, patient_id: str) -> bool:
    subject = resource.subject
    if subject is not None and subject.reference == own_ref and resource.patient is UNSET:
        return True
    for ref in (subject, resource.patient):
        if isinstance(ref, s.Reference) and isinstance(ref.reference, str):
            match = _PATIENT_REF.search(ref.reference.strip())
            if match and match.group(1) != patient_id:
                return False
    return True


class _Router:
    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.seen: set[tuple[str, str]] = set()
        self.own_ref = f"Patient/{chart.patient_id}"

    def index_medication(self, full_url: Any, resource: s.Medication) -> None:
        meds = self.chart.medications
        if isinstance(resource.id, str) and resource.id:
            meds.setdefault(f"Medication/{resource.id}", resource)
        if full_url:
            meds.setdefault(full_url, resource)

    def route(self, full_url: Any, resource: Any) -> None:
        chart = self.chart
        kind = type(resource)
        if kind is s.Medication:
            self.index_medication(full_url, resource)
        elif kind is s.OperationOutcome:
            chart.skip("bundle-operation-outcome")
        elif kind is s.Patient:
            if isinstance(resource.id, str) and resource.id != chart.patient_id:
                chart.skip("wrong-patient")
            elif chart.patient is not None:
                chart.skip("duplicate-resource")
            else:
                chart.patient = resource
        elif not _names_only(resource, self.own_ref, chart.patient_id):
            chart.skip("wrong-patient")
        else:
            rid = resource.id
            if isinstance(rid, str):
                key = (kind.__name__, rid)
                if key in self.seen:
                    chart.skip("duplicate-resource")
                    return
                self.seen.add(key)
            _TARGETS[kind](chart).append(resource)


# Where a routed resource goes; the lists hold different types, hence list[Any].
_TARGETS: dict[type[msgspec.Struct], Callable[[Chart], list[Any]]] = {
    s.MedicationRequest: lambda c: c.medication_requests,
    s.Condition: lambda c: c.conditions,
    s.CarePlan: lambda c: c.care_plans,
    s.ServiceRequest: lambda c: c.service_requests,
}


def _bundle_entries(bundle: s.Bundle) -> tuple[list[tuple[Any, Any]], int]:
    found: list[tuple[Any, Any]] = []
    bad = 0
    for entry in bundle.entry or ():
        if entry.resource is None:
            bad += 1
        else:
            found.append(
                (entry.fullUrl if isinstance(entry.fullUrl, str) else None, entry.resource)
            )
    for link in bundle.link or ():
        if link.relation == "next" and isinstance(link.url, str) and link.url.strip():
            raise NotFast  # another page to fetch
    return found, bad


_OTHER = object()  # a draft of a type no reader reads (NutritionOrder, ...)


def _draft(raw: msgspec.Raw) -> Any:
    """A draft entry's typed resource, _OTHER, or None when it holds no resource object."""
    try:
        return s.DRAFT_DECODER.decode(raw)
    except msgspec.ValidationError:
        pass
    try:
        kind = s.KIND_DECODER.decode(raw).resourceType
    except msgspec.ValidationError:
        return None  # not an object
    if not isinstance(kind, str):
        return None
    if kind in s.READ_DRAFT_TYPES:
        raise NotFast  # a draft the readers read, in a shape the schema does not fit
    return _OTHER


def _unresolved(chart: Chart) -> bool:
    """A medicationReference the body does not carry (the lenient path reads or counts it)."""
    orders = [
        *chart.medication_requests,
        *(r for r in chart.draft_orders if type(r) is s.MedicationRequest),
    ]
    for order in orders:
        holder = order.medicationReference
        ref = holder.reference.strip() if holder and isinstance(holder.reference, str) else None
        if ref and not ref.startswith("#") and ref not in chart.medications:
            return True
    return False


def read_chart(
    body: s.HookBody,
    service: DataNeeds,
    allowed_fhir_servers: Sequence[str] | None,
    max_resources: int,
) -> Chart:
    """The call's chart from prefetch alone, or NotFast."""
    if service.prefetch != PREFETCH or not isinstance(body.prefetch, s.Prefetch):
        raise NotFast
    request, context = _envelope(body, service.hook)
    if count_resources(body) > max_resources:
        raise NotFast  # the lenient path answers 413
    if request.fhirServer is not None:
        # As the lenient gatherer does on every call: refuse (and say so) or check the base.
        if is_allowed(request.fhirServer, allowed_fhir_servers):
            parse_base(request.fhirServer)
        else:
            log.warning("fhirServer refused: not on the allowlist; it will not be contacted")
    chart = Chart(request, context, context.patientId, request.hook)
    router = _Router(chart)
    collected: list[tuple[Any, Any]] = []
    for key in PREFETCH:
        value = getattr(body.prefetch, key)
        if value is UNSET:
            raise NotFast  # to be fetched
        if value is None:
            chart.sources[key] = "prefetch-null"
            continue
        chart.sources[key] = "prefetch"
        if isinstance(value, s.Bundle):
            found, bad = _bundle_entries(value)
            if bad:
                chart.skip("bundle-entry-without-resource", bad)
            collected += found
        elif key in _READ_KEYS:
            collected.append((None, value))
        else:
            raise NotFast
    for full_url, resource in collected:
        router.route(full_url, resource)
    drafts = body.context.draftOrders
    if drafts is not UNSET and isinstance(getattr(context, "draftOrders", None), DraftOrdersBundle):
        chart.sources["draftOrders"] = "context"
        without = 0
        for entry in drafts.entry:
            resource = _draft(entry.resource)
            if resource is None:
                without += 1
            elif resource is not _OTHER:
                chart.draft_orders.append(resource)
                if type(resource) is s.Medication:
                    router.index_medication(
                        entry.fullUrl if isinstance(entry.fullUrl, str) else None, resource
                    )
        if without:
            chart.skip("draft-entry-without-resource", without)
    selections = getattr(context, "selections", None)
    if isinstance(selections, list):
        chart.selections = frozenset(selections)
    if chart.patient is None or _unresolved(chart):
        raise NotFast  # 412, or a Medication to read: the lenient path does both
    return chart
