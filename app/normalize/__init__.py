"""Raw FHIR (a Gathered) -> one PatientRecord; lenient, fast, never raises on bad resources.

A resource that cannot be read is left out and counted in ``PatientRecord.skipped`` under a
label naming only its type and the problem, never its content. DSTU2 MedicationOrder resources
are normalized like MedicationRequests (dateWritten, dateEnded, DSTU2 dosage shape). Draft
orders (context.draftOrders) are ``is_draft=True, is_active=False`` whatever their status.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial

from app.config import Settings
from app.fhir.gathered import Gathered
from app.normalize.assemble import (
    DISCARDED_ORDER_STATUSES,
    ORDER_TYPES,
    PLAN_TYPES,
    Skips,
    condition_index,
    condition_names,
    finish,
    of_types,
    safe,
)
from app.normalize.conditions import read_condition
from app.normalize.episodes import with_episodes
from app.normalize.medications import MedContext, normalize_order
from app.normalize.patient import birth_and_age
from app.normalize.plans import care_plan_facts, service_request_facts
from app.record import ConditionFact, MedicationUse, PatientRecord, PlanFact

__all__ = ["build_record"]


def _medications(gathered: Gathered, ctx: MedContext, skips: Skips) -> list[MedicationUse]:
    draft_resources = [
        r
        for r in gathered.draft_orders
        if isinstance(r, dict)
        and isinstance(r.get("resourceType"), str)
        and r["resourceType"] in ORDER_TYPES
    ]
    draft_refs = {f"{r.get('resourceType')}/{r.get('id')}" for r in draft_resources}
    meds: list[MedicationUse] = []
    chart = of_types(gathered.medication_requests, ORDER_TYPES, skips)
    for resource, is_draft in [(r, False) for r in chart] + [(r, True) for r in draft_resources]:
        rtype = resource["resourceType"]
        if not is_draft and f"{rtype}/{resource.get('id')}" in draft_refs:
            continue  # the chart copy of a draft being signed: the draft version wins
        status = resource.get("status")
        if isinstance(status, str) and status.lower() in DISCARDED_ORDER_STATUSES:
            continue
        if resource.get("doNotPerform") is True:
            continue  # an order NOT to give the drug is no use of it (R4 doNotPerform)
        med = safe(rtype, partial(normalize_order, resource, ctx, is_draft=is_draft), skips)
        if med is not None:
            meds.append(med)
            if med.dose_unreadable:  # kept with its dose unknown; the bad field is counted
                skips.add(f"{rtype}: dose unreadable")
    return meds


def build_record(gathered: Gathered, *, today: date, settings: Settings) -> PatientRecord:
    """Normalize everything gathered for one hook call into the record the rules read."""
    skips = Skips(gathered.skipped)
    birth, age = birth_and_age(gathered.patient, today, skips.add)

    conditions: list[ConditionFact] = []
    for resource in of_types(gathered.conditions, frozenset({"Condition"}), skips):
        # None: refuted / entered-in-error, or unreadable (counted by _safe).
        fact = safe("Condition", partial(read_condition, resource, today), skips)
        if fact is not None:
            conditions.append(fact)

    index = condition_index(conditions)
    ctx = MedContext(
        today=today,
        max_age_days=settings.active_order_max_age_days,
        medications=gathered.medications,
        condition_categories=index,
        selections=gathered.selections,
        condition_names=condition_names(conditions),
    )
    meds = with_episodes(_medications(gathered, ctx, skips), today, settings.renewal_gap_days)

    plans: list[PlanFact] = []
    for resource in of_types(gathered.care_plans, frozenset({"CarePlan"}), skips):
        plans += safe("CarePlan", partial(care_plan_facts, resource, conditions=index), skips) or []
    for resource in of_types(gathered.service_requests, frozenset({"ServiceRequest"}), skips):
        plans += (
            safe(
                "ServiceRequest", partial(service_request_facts, resource, conditions=index), skips
            )
            or []
        )
    # A referral or taper plan being ordered right now (order-select / order-sign draftOrders)
    # is a plan: the card should not ask for what the clinician is already ordering.
    for resource in gathered.draft_orders:
        kind = resource.get("resourceType")
        if kind in PLAN_TYPES:
            read = care_plan_facts if kind == "CarePlan" else service_request_facts
            facts = safe(kind, partial(read, resource, draft=True, conditions=index), skips) or []
            plans += [replace(f, recorded_on=f.recorded_on or today) for f in facts]
    return finish(
        patient_id=gathered.patient_id,
        hook=gathered.hook,
        today=today,
        settings=settings,
        birth=birth,
        age=age,
        meds=meds,
        conditions=conditions,
        plans=plans,
        skips=skips,
        missing=gathered.missing.values(),
    )
