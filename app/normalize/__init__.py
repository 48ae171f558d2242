"""Raw FHIR (a Gathered) -> one PatientRecord; lenient, fast, never raises on bad resources.

A resource that cannot be read is left out and counted in ``PatientRecord.skipped`` under a
label naming only its type and the problem, never its content. DSTU2 MedicationOrder resources
are normalized like MedicationRequests (dateWritten, dateEnded, DSTU2 dosage shape). Draft
orders (context.draftOrders) are ``is_draft=True, is_active=False`` whatever their status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar

from app.config import Settings
from app.gathered import Gathered
from app.normalize.conditions import read_condition
from app.normalize.episodes import with_episodes
from app.normalize.errors import Malformed
from app.normalize.medications import MedContext, normalize_order
from app.normalize.patient import birth_and_age
from app.normalize.plans import care_plan_facts, service_request_facts
from app.record import (
    BZRA_CLASSES,
    ConditionCategory,
    ConditionFact,
    MedicationUse,
    PatientRecord,
    PlanFact,
    PlanKind,
)

__all__ = ["build_record"]

ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})
PLAN_TYPES = frozenset({"CarePlan", "ServiceRequest"})
# Orders that were never in force; left out of the record (not counted as unreadable).
_DISCARDED_ORDER_STATUSES = frozenset({"entered-in-error"})
# OverflowError: absurd dates or supplies (year 9999, a billion days) past date arithmetic.
_READ_ERRORS = (Malformed, TypeError, ValueError, AttributeError, KeyError, IndexError,
                OverflowError)

T = TypeVar("T")


class _Skips:
    def __init__(self, initial: dict[str, int]) -> None:
        self.counts = dict(initial)

    def add(self, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1


def _safe(kind: str, func: Callable[[], T], skips: _Skips) -> T | None:
    """Run one resource's normalization; a failure becomes a count, never an exception."""
    try:
        return func()
    except _READ_ERRORS:
        skips.add(f"{kind}: unreadable")
        return None


def _typed(resources: Iterable[Any], expected: frozenset[str], skips: _Skips
           ) -> list[dict[str, Any]]:
    out = []
    for resource in resources:
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str):
            skips.add("resource without resourceType")
        elif rtype in expected:
            out.append(resource)
        elif rtype.isalpha() and len(rtype) <= 40:
            skips.add(f"{rtype}: not supported here")
        else:
            skips.add("resource without resourceType")
    return out


def _condition_index(facts: list[ConditionFact]) -> dict[str, frozenset[ConditionCategory]]:
    """Categories by every spelling of a Condition reference we can match (Synthea: urn:uuid)."""
    index: dict[str, frozenset[ConditionCategory]] = {}
    for fact in facts:
        index[fact.ref] = fact.categories
        index["urn:uuid:" + fact.ref.split("/", 1)[1]] = fact.categories
    return index


def _condition_names(facts: list[ConditionFact]) -> dict[str, str]:
    """Names by the same spellings as ``_condition_index``, for an order's reasonReference."""
    names: dict[str, str] = {}
    for fact in facts:
        if fact.name:
            names[fact.ref] = names["urn:uuid:" + fact.ref.split("/", 1)[1]] = fact.name
    return names


def _taper_sequences(meds: list[MedicationUse], today: date, window_days: int) -> list[PlanFact]:
    """A later, lower-dose order of the same BZRA ingredient started recently counts as a taper.

    Window: the ASAM 2025 reassessment interval (rec. 1, at least every 3 months), so a dose
    reduction made since the last expected review is read as a taper in progress.
    """
    by_ingredient: dict[str, list[MedicationUse]] = {}
    for med in meds:
        # Only exact doses show a reduction: a PRN maximum or a range says nothing about use.
        if (med.drug_class in BZRA_CLASSES and med.ingredient and med.start is not None
                and med.exact_dose_mg is not None and med.status != "cancelled"):
            by_ingredient.setdefault(med.ingredient, []).append(med)
    facts = []
    since = today - timedelta(days=window_days)
    for orders in by_ingredient.values():
        orders.sort(key=lambda m: (m.start, m.authored_on or m.start, m.is_draft))
        for earlier, later in zip(orders, orders[1:], strict=False):
            if (later.exact_dose_mg or 0) < (earlier.exact_dose_mg or 0) \
                    and later.start is not None and later.start >= since:
                facts.append(PlanFact(ref=later.ref, kind=PlanKind.TAPER_PLAN,
                                      recorded_on=later.start,
                                      is_active=later.is_active or later.is_draft,
                                      about=frozenset({later.drug_class})))
    return facts


def _medications(gathered: Gathered, ctx: MedContext, skips: _Skips) -> list[MedicationUse]:
    draft_resources = [r for r in gathered.draft_orders
                       if isinstance(r, dict) and isinstance(r.get("resourceType"), str)
                       and r["resourceType"] in ORDER_TYPES]
    draft_refs = {f"{r.get('resourceType')}/{r.get('id')}" for r in draft_resources}
    meds: list[MedicationUse] = []
    chart = _typed(gathered.medication_requests, ORDER_TYPES, skips)
    for resource, is_draft in [(r, False) for r in chart] + [(r, True) for r in draft_resources]:
        rtype = resource["resourceType"]
        if not is_draft and f"{rtype}/{resource.get('id')}" in draft_refs:
            continue  # the chart copy of a draft being signed: the draft version wins
        status = resource.get("status")
        if isinstance(status, str) and status.lower() in _DISCARDED_ORDER_STATUSES:
            continue
        if resource.get("doNotPerform") is True:
            continue  # an order NOT to give the drug is no use of it (R4 doNotPerform)
        med = _safe(rtype, lambda r=resource, d=is_draft: normalize_order(r, ctx, is_draft=d),
                    skips)
        if med is not None:
            meds.append(med)
            if med.dose_unreadable:  # kept with its dose unknown; the bad field is counted
                skips.add(f"{rtype}: dose unreadable")
    return meds


def build_record(gathered: Gathered, *, today: date, settings: Settings) -> PatientRecord:
    """Normalize everything gathered for one hook call into the record the rules read."""
    skips = _Skips(gathered.skipped)
    birth, age = birth_and_age(gathered.patient, today, skips.add)

    conditions: list[ConditionFact] = []
    for resource in _typed(gathered.conditions, frozenset({"Condition"}), skips):
        # None: refuted / entered-in-error, or unreadable (counted by _safe).
        fact = _safe("Condition", lambda r=resource: read_condition(r, today), skips)
        if fact is not None:
            conditions.append(fact)

    index = _condition_index(conditions)
    ctx = MedContext(today=today, max_age_days=settings.active_order_max_age_days,
                     medications=gathered.medications,
                     condition_categories=index,
                     selections=gathered.selections,
                     condition_names=_condition_names(conditions))
    meds = with_episodes(_medications(gathered, ctx, skips), today, settings.renewal_gap_days)

    plans: list[PlanFact] = []
    for resource in _typed(gathered.care_plans, frozenset({"CarePlan"}), skips):
        plans += _safe("CarePlan", lambda r=resource: care_plan_facts(r, conditions=index),
                       skips) or []
    for resource in _typed(gathered.service_requests, frozenset({"ServiceRequest"}), skips):
        plans += _safe("ServiceRequest",
                       lambda r=resource: service_request_facts(r, conditions=index), skips) or []
    # A referral or taper plan being ordered right now (order-select / order-sign draftOrders)
    # is a plan: the card should not ask for what the clinician is already ordering.
    for resource in gathered.draft_orders:
        kind = resource.get("resourceType")
        if kind in PLAN_TYPES:
            read = care_plan_facts if kind == "CarePlan" else service_request_facts
            facts = _safe(kind, lambda r=resource, f=read: f(r, draft=True, conditions=index),
                          skips) or []
            plans += [replace(f, recorded_on=f.recorded_on or today) for f in facts]
    # A taper written into a benzodiazepine order's note or instructions is a taper plan.
    plans += [PlanFact(ref=m.ref, kind=PlanKind.TAPER_PLAN,
                       recorded_on=m.authored_on or m.start,
                       is_active=m.is_active or m.is_draft, about=frozenset({m.drug_class}))
              for m in meds if m.mentions_taper and m.drug_class in BZRA_CLASSES]
    plans += _taper_sequences(meds, today, settings.review_interval_days)

    return PatientRecord(
        patient_id=gathered.patient_id, hook=gathered.hook, evaluated_on=today,
        birth_date=birth, age=age, medications=tuple(meds), conditions=tuple(conditions),
        plans=tuple(plans), skipped=skips.counts,
        missing_data=frozenset(gathered.missing.values()),
    )
