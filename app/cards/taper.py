"""A gradual benzodiazepine / Z-drug taper schedule and the draft CarePlan that carries it.

The schedule comes from the taper engine (app/taper): doses the marketed products can make
(app/terminology/data/products.json), no more than 25% of the current dose in any 2 weeks
including the last steps, the interval lengthened where one unit is a larger step, and the pace
stated as computed (ASAM 2025 rec. 6-7; Pottie 2018). Never stop abruptly (ASAM rec. 2; FDA
2020 boxed warning). Without a daily dose or marketed products the plan explains how to build
the steps and carries no invented numbers. Only an exact daily dose (MedicationUse.exact_dose_mg)
is a starting dose: a PRN maximum or the top of a range is not what the patient takes, so the
plan then starts by confirming the total daily dose, and the card says what the order reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fhir.resources.R4B.careplan import CarePlan

from app.cards.common import day, mg
from app.cards.fhir_values import EhrValues
from app.cards.resources import coding, validated
from app.config import Settings
from app.record import MedicationUse, PatientRecord
from app.taper import (
    LIQUID,
    Form,
    Pace,
    StepKind,
    TaperPlan,
    TaperRequest,
    Unplanned,
    form_of,
    plan_taper,
)
from app.taper import (
    step_text as engine_step_text,
)
from app.terminology import diazepam_equivalent, suggestion_code

DIAZEPAM_REFERENCE_MG = 10.0  # equivalents are "mg of drug ~ 10 mg oral diazepam"
# ASAM 2025 rec. 6, for plans without computed numbers (the guideline's range, not a schedule).
GUIDELINE_PACE = (
    "reduce by 5-10% of the daily dose every 2-4 weeks, never more than 25% in any 2 weeks"
)
HOLD = (
    "At each step check for withdrawal symptoms; if they appear, hold the dose 1-2 weeks "
    "and continue more slowly (ASAM 2025 rec. 8-9). Never stop abruptly."
)
# ASAM 2025 rec. 10: offer behavioural treatment (CBT; CBT-I for insomnia) during a taper.
BEHAVIOURAL = "Offer CBT, or CBT-I for insomnia, alongside the taper (ASAM 2025 rec. 10)."
_UCUM = "http://unitsofmeasure.org"
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass(frozen=True)
class TaperStep:
    starts: date
    dose_mg: float  # daily dose from this date; 0 = stopped
    reduction_pct: float  # of the previous daily dose (0 for a switch)
    weeks_before: int  # weeks at the previous dose before this step
    text: str = ""  # the step as the card and CarePlan show it, with how to take it
    ingredient: str = ""
    switch: bool = False


@dataclass(frozen=True)
class TaperSchedule:
    med: MedicationUse
    starts: date
    follow_up: date
    daily_dose_mg: float | None
    diazepam_eq_mg: float | None
    unit_mg: float | None
    steps: tuple[TaperStep, ...]
    instructions: tuple[str, ...]  # pace as computed, how to proceed, caveats
    plan: TaperPlan | None = None  # the engine's plan the steps came from
    pace: str | None = None  # the pace exactly as computed

    @property
    def ends(self) -> date | None:
        return self.steps[-1].starts if self.steps and self.steps[-1].dose_mg == 0 else None

    @property
    def switch_to(self) -> str | None:
        switch = self.plan.switch if self.plan else None
        return (
            switch.to_ingredient
            if switch and switch.to_ingredient != switch.from_ingredient
            else None
        )


def diazepam_eq(med: MedicationUse) -> float | None:
    """Approximate mg/day of oral diazepam (ASAM 2025 table; guidance only, not exact)."""
    if med.diazepam_eq_mg_per_day is not None:
        return med.diazepam_eq_mg_per_day
    if med.daily_dose_mg is None or not med.ingredient:
        return None
    per_ten = _safe_equivalent(med.ingredient)
    return None if not per_ten else med.daily_dose_mg * DIAZEPAM_REFERENCE_MG / per_ten


def _safe_equivalent(ingredient: str) -> float | None:
    try:
        return diazepam_equivalent(ingredient)
    except (KeyError, LookupError, ValueError):
        return None


@dataclass(frozen=True)
class Adjustments:
    """What the taper planner (#16) may change on top of the card's request; the card's default."""

    pace: Pace = Pace.STANDARD
    extra_weeks: Mapping[int, int] = field(default_factory=dict)
    times: tuple[str, ...] = ()


def _request(
    med: MedicationUse, dose: float, starts: date, switch_to: str | None, adjust: Adjustments
) -> TaperRequest | str:
    form = form_of(med.name)
    if form == LIQUID:
        return (
            f"The order is an oral liquid: measure each step in mL with the pharmacy and "
            f"{GUIDELINE_PACE}."
        )
    strength = med.strength_mg if (med.strength_unit or "mg").lower() == "mg" else None
    return TaperRequest(
        med.ingredient or med.name,
        dose,
        starts,
        form=form if isinstance(form, Form) else None,
        strength_mg=strength,
        switch_to=switch_to,
        pace=adjust.pace,
        extra_weeks=dict(adjust.extra_weeks),
        times=adjust.times,
    )


def build_schedule(
    med: MedicationUse,
    starts: date,
    settings: Settings,
    *,
    switch_to: str | None = None,
    adjust: Adjustments | None = None,
) -> TaperSchedule:
    """Today's dose, its diazepam equivalent, dated steps with real tablets (or how to build them).

    ``switch_to`` asks for the long-acting switch first (ASAM 2025 rec. 7); ``adjust`` carries
    the planner's pace, holds and times of day (the card uses the defaults).
    """
    follow_up = starts + timedelta(days=settings.follow_up_days)
    name = med.ingredient or med.name
    dose = med.exact_dose_mg
    if dose is not None and not math.isfinite(dose):
        dose = None  # no schedule can be computed from it (the engine's Fractions refuse inf)
    if dose is None or dose <= 0:
        return TaperSchedule(
            med,
            starts,
            follow_up,
            dose,
            diazepam_eq(med) if dose is not None else None,
            None,
            (),
            (
                f"Confirm today's total daily dose of {name} (mg/day) from the prescription and "
                "the patient's actual use.",
                f"Then {GUIDELINE_PACE}.",
                HOLD,
                BEHAVIOURAL,
            ),
        )
    request = _request(med, dose, starts, switch_to, adjust or Adjustments())
    result = plan_taper(request) if isinstance(request, TaperRequest) else Unplanned(request)
    if isinstance(result, Unplanned):
        return TaperSchedule(
            med,
            starts,
            follow_up,
            dose,
            diazepam_eq(med),
            None,
            (),
            (
                f"Today's dose is {mg(dose)} mg/day. {result.reason}",
                f"Then {GUIDELINE_PACE}.",
                HOLD,
                BEHAVIOURAL,
            ),
        )
    steps = tuple(
        TaperStep(
            s.starts,
            float(s.dose_mg),
            float(round(s.reduction * 100, 1)),
            s.held_days // 7,
            engine_step_text(s, day(s.starts)),
            s.ingredient,
            s.kind is StepKind.SWITCH,
        )
        for s in result.steps
    )
    pace = f"Pace: {result.pace.text} (ASAM 2025 rec. 6)."
    notes = [result.switch.why] if result.switch else []
    return TaperSchedule(
        med,
        starts,
        follow_up,
        dose,
        diazepam_eq(med),
        float(result.unit_mg),
        steps,
        (pace, *notes, *result.notes, HOLD, BEHAVIOURAL),
        result,
        result.pace.text,
    )


def step_text(step: TaperStep, name: str) -> str:
    if step.text:
        return step.text
    if step.dose_mg == 0:
        return f"{day(step.starts)}: stop {name} after {step.weeks_before} weeks on the lowest dose"
    return f"{day(step.starts)}: {mg(step.dose_mg)} mg/day of {name} (-{mg(step.reduction_pct)}%)"


def schedule_summary(schedule: TaperSchedule) -> str:
    """Markdown bullets for a card: the first step, the pace as computed, the end and follow-up.

    Every step is in the CarePlan suggestion (and the planner); today's dose is on the card's
    evidence line. Without an exact dose: what the order reads and what to confirm first.
    """
    if not schedule.steps:
        # What the order reads is on the card's evidence line; here, what that means.
        head = (
            "No exact daily dose, so no schedule: confirm the total daily dose first "
            "(the CarePlan starts there)."
            if schedule.daily_dose_mg is None
            else schedule.instructions[0]
        )
        return "\n".join(
            [
                f"- {head}",
                f"- {schedule.instructions[1]}",
                f"- Follow-up by {day(schedule.follow_up)}.",
            ]
        )
    name = schedule.med.ingredient or schedule.med.name
    first = step_text(schedule.steps[0], name)
    switch = schedule.plan.switch if schedule.plan else None
    if switch is not None and switch.to_ingredient == switch.from_ingredient:
        # The extended-release order is not split: its label allows the same daily dose IR.
        first += " (immediate-release, same daily dose)"
    # The follow-up visit is in the CarePlan; the card keeps what the issue asks it to show.
    ends = [f"- Ends {day(schedule.ends)}"] if schedule.ends else []
    return "\n".join([f"- First step {first}", f"- Pace: {schedule.pace}", *ends])


def _product(med: MedicationUse, ehr: EhrValues, ingredient: str | None = None) -> dict[str, Any]:
    if ingredient and ingredient != (med.ingredient or med.name):
        return {"text": f"{ingredient} oral tablet"}  # the long-acting drug switched to
    concept: dict[str, Any] = {"text": ehr.string(med.name)}
    rxnorm = ehr.coding(coding(_RXNORM, med.rxnorm, med.name))
    if rxnorm:
        concept["coding"] = [rxnorm]
    return concept


def _activity(
    description: str,
    kind: str,
    starts: date,
    ends: date | None,
    ehr: EhrValues,
    med: MedicationUse | None = None,
    dose: float | None = None,
    ingredient: str | None = None,
) -> dict[str, Any]:
    period = {"start": day(starts)} | ({"end": day(ends)} if ends else {})
    detail: dict[str, Any] = {
        "kind": kind,
        "status": "not-started",
        "description": description,
        "scheduledPeriod": period,
    }
    if med is not None:
        detail["productCodeableConcept"] = _product(med, ehr, ingredient)
    if dose is not None:
        detail["dailyAmount"] = {"value": dose, "unit": "mg", "system": _UCUM, "code": "mg"}
    return {"detail": detail}


def careplan(record: PatientRecord, schedule: TaperSchedule) -> dict[str, Any] | None:
    """A draft R4 CarePlan (intent proposal) with one activity per step plus the follow-up."""
    return careplan_for({"reference": f"Patient/{record.patient_id}"}, schedule)


def careplan_for(subject: dict[str, Any], schedule: TaperSchedule) -> dict[str, Any] | None:
    """The card's CarePlan for any ``subject`` reference (the planner has no patient id)."""
    med = schedule.med
    ehr = EhrValues()
    ehr.text(subject.get("reference"))
    name = med.ingredient or med.name
    # The drug's name is written into titles, steps and notes: text of the builder's own.
    ehr.text(name)
    activities = []
    for index, step in enumerate(schedule.steps):
        following = schedule.steps[index + 1] if index + 1 < len(schedule.steps) else None
        ends = following.starts - timedelta(days=1) if following else None
        activities.append(
            _activity(
                step_text(step, name),
                "MedicationRequest",
                step.starts,
                ends,
                ehr,
                med,
                step.dose_mg,
                step.ingredient,
            )
        )
    if not schedule.steps:
        activities.append(
            _activity(
                " ".join(schedule.instructions),
                "MedicationRequest",
                schedule.starts,
                None,
                ehr,
                med,
            )
        )
    activities.append(
        _activity(
            f"Follow-up visit by {day(schedule.follow_up)}: withdrawal symptoms, sleep/anxiety, "
            "adjust the pace; then review at least every 3 months (ASAM 2025 rec. 1).",
            "Appointment",
            schedule.starts,
            schedule.follow_up,
            ehr,
        )
    )
    period = {"start": day(schedule.starts)}
    if schedule.ends:
        period["end"] = day(schedule.ends)
    return validated(
        CarePlan,
        {
            "resourceType": "CarePlan",
            "status": "draft",
            "intent": "proposal",
            "category": [{"coding": [suggestion_code("taper-careplan")]}],
            "subject": subject,
            "title": (
                f"Switch {name} to {schedule.switch_to}, then taper"
                if schedule.switch_to
                else f"Gradual taper of {name}"
            ),
            "description": (
                f"Gradual taper of {name} agreed with the patient (ASAM 2025 joint "
                f"guideline): {schedule.pace or GUIDELINE_PACE}; never stop abruptly. "
                "Diazepam equivalents are approximate."
            ),
            "period": period,
            "activity": activities,
            "note": [{"text": text} for text in schedule.instructions],
        },
        ehr,
    )
