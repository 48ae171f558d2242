"""A typed Chart -> PatientRecord: app.normalize.build_record over the decoded structures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any, Protocol

from app.config import Settings
from app.normalize.assemble import (
    DISCARDED_ORDER_STATUSES,
    READ_ERRORS,
    Skips,
    condition_index,
    condition_names,
    finish,
    safe,
)
from app.normalize.episodes import with_episodes
from app.normalize.medications import MedContext
from app.normalize.patient import birth_and_age
from app.normalize.typed import schema as s
from app.normalize.typed.facts import care_plan_facts, read_condition, service_request_facts
from app.normalize.typed.orders import normalize_order
from app.record import ConditionFact, MedicationUse, PatientRecord, PlanFact

_KIND = "MedicationRequest"


class ChartData(Protocol):
    """What build_record reads of a chart: a hook call's Chart, or one patient of a dry run
    (app/bulk/typed.py), which has no hook envelope."""

    @property
    def patient_id(self) -> str: ...
    @property
    def hook(self) -> str: ...
    @property
    def patient(self) -> s.Patient | None: ...
    @property
    def medication_requests(self) -> list[s.MedicationRequest]: ...
    @property
    def conditions(self) -> list[s.Condition]: ...
    @property
    def care_plans(self) -> list[s.CarePlan]: ...
    @property
    def service_requests(self) -> list[s.ServiceRequest]: ...
    @property
    def medications(self) -> dict[str, s.Medication]: ...
    @property
    def draft_orders(self) -> list[Any]: ...
    @property
    def selections(self) -> frozenset[str]: ...
    @property
    def skipped(self) -> dict[str, int]: ...


def _medications(chart: ChartData, ctx: MedContext, skips: Skips) -> list[MedicationUse]:
    drafts = [r for r in chart.draft_orders if type(r) is s.MedicationRequest]
    draft_refs = {f"{_KIND}/{r.id}" for r in drafts}
    meds: list[MedicationUse] = []
    for order, is_draft in [(r, False) for r in chart.medication_requests] + [
        (r, True) for r in drafts
    ]:
        if not is_draft and f"{_KIND}/{order.id}" in draft_refs:
            continue  # the chart copy of a draft being signed: the draft version wins
        if isinstance(order.status, str) and order.status.lower() in DISCARDED_ORDER_STATUSES:
            continue
        if order.doNotPerform is True:
            continue
        try:  # assemble.safe, inline: this loop runs for every order of every call
            med = normalize_order(order, ctx, is_draft=is_draft)
        except READ_ERRORS:
            skips.add(f"{_KIND}: unreadable")
            continue
        meds.append(med)
        if med.dose_unreadable:
            skips.add(f"{_KIND}: dose unreadable")
    return meds


def build_record(chart: ChartData, *, today: date, settings: Settings) -> PatientRecord:
    """The same PatientRecord app.normalize.build_record makes of the lenient Gathered."""
    skips = Skips(chart.skipped)
    patient = {"birthDate": chart.patient.birthDate} if chart.patient is not None else None
    birth, age = birth_and_age(patient, today, skips.add)

    conditions: list[ConditionFact] = []
    for resource in chart.conditions:
        try:
            fact = read_condition(resource, today)
        except READ_ERRORS:
            skips.add("Condition: unreadable")
            continue
        if fact is not None:
            conditions.append(fact)

    index = condition_index(conditions)
    ctx = MedContext(
        today=today,
        max_age_days=settings.active_order_max_age_days,
        # Typed Medications, not dicts: only typed/orders._resolve reads them here.
        medications=chart.medications,  # type: ignore[arg-type]
        condition_categories=index,
        selections=chart.selections,
        condition_names=condition_names(conditions),
    )
    meds = with_episodes(_medications(chart, ctx, skips), today, settings.renewal_gap_days)

    plans: list[PlanFact] = []
    for plan in chart.care_plans:
        plans += safe("CarePlan", partial(care_plan_facts, plan, conditions=index), skips) or []
    for request in chart.service_requests:
        plans += (
            safe("ServiceRequest", partial(service_request_facts, request, conditions=index), skips)
            or []
        )
    for resource in chart.draft_orders:
        if type(resource) is s.CarePlan:
            facts = safe(
                "CarePlan", partial(care_plan_facts, resource, draft=True, conditions=index), skips
            )
        elif type(resource) is s.ServiceRequest:
            facts = safe(
                "ServiceRequest",
                partial(service_request_facts, resource, draft=True, conditions=index),
                skips,
            )
        else:
            continue
        plans += [replace(f, recorded_on=f.recorded_on or today) for f in facts or []]
    return finish(
        patient_id=chart.patient_id,
        hook=chart.hook,
        today=today,
        settings=settings,
        birth=birth,
        age=age,
        meds=meds,
        conditions=conditions,
        plans=plans,
        skips=skips,
        missing=(),
    )
