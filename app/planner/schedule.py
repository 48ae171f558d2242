"""The planner's schedule and draft CarePlan, built by the card's own code (app/cards/taper.py).

The planner describes the order the card read (drug, form, strength) as a MedicationUse with
the confirmed dose, and asks ``build_schedule`` with its adjustments: with the card's defaults
(standard pace, no holds, no times) the result is the card's schedule, step for step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.cards.taper import Adjustments, TaperSchedule, build_schedule, careplan_for
from app.config import Settings
from app.planner.query import PlannerQuery
from app.record import DoseConfidence, DrugClass, MedicationUse
from app.taper import LIQUID, Form, StepKind, TaperPlan, mg
from app.taper.text import noun
from app.terminology import classify_medication

# No patient is known to the planner (its link carries none). A display-only reference keeps
# the CarePlan valid R4 and cannot be filed against the wrong patient by accident: the EHR (or
# the clinician pasting it) sets the subject when it is filed.
SUBJECT = {
    "display": "The patient this plan is agreed with (set when filed; the planner holds "
    "no patient data)"
}


def order_name(query: PlannerQuery) -> str:
    """The product as an order would name it ("alprazolam 0.5 mg tablet"); form_of reads it back."""
    strength = f" {mg(query.strength_mg)} mg" if query.strength_mg is not None else ""
    if query.form == LIQUID:
        return f"{query.drug} oral solution"
    kind = noun(Form(query.form)) if query.form else ""
    return f"{query.drug}{strength} {kind}".strip()


def medication(query: PlannerQuery) -> MedicationUse:
    """The order the card read, as the planner knows it: no patient, no ids, the confirmed dose."""
    info = classify_medication((), query.drug)
    return MedicationUse(
        ref="planner",
        name=order_name(query),
        drug_class=info.drug_class if info else DrugClass.BENZODIAZEPINE,
        ingredient=query.drug,
        strength_mg=float(query.strength_mg) if query.strength_mg is not None else None,
        strength_unit="mg" if query.strength_mg is not None else None,
        daily_dose_mg=float(query.dose_mg) if query.dose_mg is not None else None,
        dose_confidence=(
            DoseConfidence.EXACT if query.dose_mg is not None else DoseConfidence.UNKNOWN
        ),
    )


@dataclass(frozen=True)
class PlannerResult:
    query: PlannerQuery  # as asked, holds that fit this plan only
    schedule: TaperSchedule
    dropped_holds: int  # holds past the plan's last step (after a switch or pace change)

    @property
    def plan(self) -> TaperPlan | None:
        return self.schedule.plan

    @property
    def reason(self) -> str:
        """Why there is no computed plan (the card's own words), when there is none."""
        return " ".join(self.schedule.instructions[:1])


def _holdable(plan: TaperPlan | None) -> int:
    """Steps (1-based, as shown) whose dose can be held: every reduction before the stop."""
    return sum(1 for s in plan.reductions if s.kind is StepKind.REDUCE) if plan else 0


def compute(query: PlannerQuery, settings: Settings) -> PlannerResult:
    """The schedule for the query; holds beyond the plan's steps are dropped (and counted)."""

    def run(q: PlannerQuery) -> TaperSchedule:
        return build_schedule(
            medication(q),
            q.start,
            settings,
            switch_to=q.switch_to,
            adjust=Adjustments(q.pace, q.extra_weeks, q.times),
        )

    schedule = run(query)
    last = _holdable(schedule.plan)
    kept = {step: weeks for step, weeks in query.holds.items() if step <= last}
    dropped = len(query.holds) - len(kept)
    if dropped:
        query = query.with_(holds=kept)
        schedule = run(query)
    return PlannerResult(query, schedule, dropped)


def careplan(result: PlannerResult) -> dict[str, Any] | None:
    """The adjusted plan as the card's draft CarePlan, with no patient subject (see SUBJECT)."""
    return careplan_for(dict(SUBJECT), result.schedule)


def follow_up(result: PlannerResult) -> date:
    return result.schedule.follow_up
