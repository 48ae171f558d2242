"""A gradual benzodiazepine / Z-drug taper schedule and the draft CarePlan that carries it.

Pace (ASAM 2025 joint guideline, rec. 6): reduce by 5-10% every 2-4 weeks and typically not
more than 25% every 2 weeks; never stop abruptly (ASAM rec. 2; FDA 2020 boxed warning).
Implementation choices (documented, deliberately simple):
- each step lowers the daily dose by ~10% of the current dose, rounded to a dose that can be
  given with the drug's own oral strengths: multiples of half the smallest tablet, or of the
  whole smallest unit when the order is a capsule or extended-release product (not splittable);
- at least one such unit per step; when one unit is more than 25% of the current dose (the
  tail of the taper), the time at the current dose before that step is stretched so the pace
  stays at or under 25% per 2 weeks (a 50% step waits 4 weeks; stopping from the last unit
  waits 8 weeks);
- the first reduction is on the plan's start date (later only when it exceeds 25%);
- with an unknown daily dose or no known strengths the plan explains how to compute the
  steps and carries no invented numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from fhir.resources.R4B.careplan import CarePlan

from app.cards.common import day, mg
from app.cards.resources import coding, validated
from app.config import Settings
from app.record import MedicationUse, PatientRecord
from app.terminology import (
    diazepam_equivalent,
    diazepam_equivalent_detail,
    oral_strengths,
    suggestion_code,
)

STEP_DAYS = 14                      # ASAM rec. 6: every 2-4 weeks (we use the 2-week end)
STEP_FRACTION = Fraction(1, 10)     # ASAM rec. 6: 5-10% per step
MAX_FRACTION_PER_STEP = Fraction(1, 4)  # ASAM rec. 6: typically not more than 25% every 2 weeks
MAX_STEPS = 40                      # beyond this the plan says how to continue
DIAZEPAM_REFERENCE_MG = 10.0        # equivalents are "mg of drug ~ 10 mg oral diazepam"
# ASAM 2025 Table 2 footnote: low <= 10, moderate 10-15, high > 15 mg diazepam-eq/day.
LOW_BAND_MAX, MODERATE_BAND_MAX = 10.0, 15.0
_UNSPLITTABLE = ("capsule", "extended release", "extended-release", " er ", " cr ", "24 hr")
_UCUM = "http://unitsofmeasure.org"
_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass(frozen=True)
class TaperStep:
    starts: date
    dose_mg: float          # daily dose from this date; 0 = stopped
    reduction_pct: int      # of the previous daily dose
    weeks_before: int       # weeks at the previous dose before this step (0 for the first)


@dataclass(frozen=True)
class TaperSchedule:
    med: MedicationUse
    starts: date
    follow_up: date
    daily_dose_mg: float | None
    diazepam_eq_mg: float | None
    unit_mg: float | None
    steps: tuple[TaperStep, ...]
    instructions: tuple[str, ...]   # how to proceed when numbers cannot be computed or run out

    @property
    def ends(self) -> date | None:
        return self.steps[-1].starts if self.steps and self.steps[-1].dose_mg == 0 else None


def diazepam_eq(med: MedicationUse) -> float | None:
    """Approximate mg/day of oral diazepam (ASAM 2025 table; guidance only, not exact)."""
    if med.diazepam_eq_mg_per_day is not None:
        return med.diazepam_eq_mg_per_day
    if med.daily_dose_mg is None or not med.ingredient:
        return None
    per_ten = _safe_equivalent(med.ingredient)
    return None if not per_ten else med.daily_dose_mg * DIAZEPAM_REFERENCE_MG / per_ten


def diazepam_range(med: MedicationUse) -> tuple[float, float] | None:
    """Low and high mg/day of diazepam across the ASAM table's columns (VA/DoD 2021, Ashton)."""
    if med.daily_dose_mg is None or not med.ingredient:
        return None
    try:
        detail = diazepam_equivalent_detail(med.ingredient) or {}
    except (KeyError, LookupError, ValueError):
        detail = {}
    values = [med.daily_dose_mg * DIAZEPAM_REFERENCE_MG / float(v)
              for k, v in detail.items() if k in ("va_dod_2021", "ashton")
              and isinstance(v, int | float) and v > 0]
    return (min(values), max(values)) if values else None


def dose_band(diazepam_mg: float) -> str:
    if diazepam_mg <= LOW_BAND_MAX:
        return "low"
    return "moderate" if diazepam_mg <= MODERATE_BAND_MAX else "high"


def _safe_equivalent(ingredient: str) -> float | None:
    try:
        return diazepam_equivalent(ingredient)
    except (KeyError, LookupError, ValueError):
        return None


def _strengths(med: MedicationUse) -> tuple[float, ...]:
    found: tuple[float, ...] = ()
    if med.ingredient:
        try:
            found = tuple(s for s in oral_strengths(med.ingredient) if s and s > 0)
        except (KeyError, LookupError, ValueError):
            found = ()
    if not found and med.strength_mg and (med.strength_unit or "mg").lower() == "mg":
        found = (med.strength_mg,)
    return found


def dose_unit(med: MedicationUse) -> Fraction | None:
    """The smallest dose step that can be given: half the smallest tablet, or a whole unit."""
    strengths = _strengths(med)
    if not strengths:
        return None
    smallest = Fraction(str(min(strengths)))
    name = f" {med.name.lower()} "
    return smallest if any(word in name for word in _UNSPLITTABLE) else smallest / 2


def _next_dose(current: Fraction, unit: Fraction) -> Fraction:
    target = math.floor(current * (1 - STEP_FRACTION) / unit + Fraction(1, 2)) * unit
    if target >= current:
        target = math.ceil(current / unit) * unit - unit
    return max(Fraction(0), target)


def _wait_days(fraction: Fraction) -> int:
    """Days at the current dose before a reduction of ``fraction`` keeps <= 25% per 2 weeks."""
    return STEP_DAYS * max(1, math.ceil(fraction / MAX_FRACTION_PER_STEP))


def _steps(dose: Fraction, unit: Fraction, starts: date) -> tuple[list[TaperStep], bool]:
    steps: list[TaperStep] = []
    current, when = dose, starts
    while current > 0 and len(steps) < MAX_STEPS:
        target = _next_dose(current, unit)
        fraction = (current - target) / current
        # The current dose has been taken for at least 2 weeks, so only a larger first step
        # (a tiny dose) waits before it is taken.
        wait = _wait_days(fraction) - (0 if steps else STEP_DAYS)
        when = when + timedelta(days=wait)
        steps.append(TaperStep(when, float(target), math.floor(float(fraction) * 100 + 0.5),
                               wait // 7))
        current = target
    return steps, current == 0


def build_schedule(med: MedicationUse, starts: date, settings: Settings) -> TaperSchedule:
    """Today's dose, its diazepam equivalent and dated reduction steps (or how to make them)."""
    follow_up = starts + timedelta(days=settings.follow_up_days)
    unit = dose_unit(med)
    name = med.ingredient or med.name
    dose = med.daily_dose_mg
    pace = ("reduce by 5-10% of the daily dose every 2-4 weeks, never more than 25% in any "
            "2 weeks")
    hold = ("At each step check for withdrawal symptoms; if they appear, hold the dose 1-2 "
            "weeks and continue more slowly. Never stop abruptly.")
    if dose is None or dose <= 0 or unit is None:
        first = (f"Confirm today's total daily dose of {name} (mg/day) from the prescription and "
                 "the patient's actual use." if dose is None or dose <= 0 else
                 f"Today's dose is {mg(dose)} mg/day; strengths of {name} are not known here, so "
                 "round each step to a dose the pharmacy can supply.")
        return TaperSchedule(med, starts, follow_up, dose, diazepam_eq(med), None, (),
                             (first, f"Then {pace}.", hold))
    steps, reaches_zero = _steps(Fraction(str(dose)), unit, starts)
    smallest = min(_strengths(med))
    piece = (f"half a {mg(smallest)} mg tablet" if float(unit) < smallest
             else f"one {mg(smallest)} mg unit")
    instructions = [f"Doses are in multiples of {mg(float(unit))} mg ({piece}) of {name}.", hold]
    if not reaches_zero:
        instructions.insert(1, f"After {day(steps[-1].starts)}: keep going, {pace}.")
    return TaperSchedule(med, starts, follow_up, dose, diazepam_eq(med), float(unit),
                         tuple(steps), tuple(instructions))


def step_text(step: TaperStep, name: str) -> str:
    if step.dose_mg == 0:
        return (f"{day(step.starts)}: stop {name} after {step.weeks_before} weeks on the "
                "lowest dose")
    return (f"{day(step.starts)}: {mg(step.dose_mg)} mg/day of {name} "
            f"(-{step.reduction_pct}%)")


def schedule_markdown(schedule: TaperSchedule, max_rows: int = 6) -> str:
    """Markdown for card detail: dose, diazepam equivalent, first steps, follow-up."""
    name = schedule.med.ingredient or schedule.med.name
    lines = []
    if schedule.daily_dose_mg is not None:
        lines.append(f"Today's dose: {mg(schedule.daily_dose_mg)} mg/day of {name}.")
    if schedule.diazepam_eq_mg is not None:
        eq = schedule.diazepam_eq_mg
        low, high = diazepam_range(schedule.med) or (eq, eq)
        shown = (mg(round(eq, 1)) if round(low, 1) == round(high, 1)
                 else f"{mg(round(low, 1))}-{mg(round(high, 1))}")
        lines.append(f"Approximately {shown} mg/day diazepam-equivalent "
                     f"({dose_band(eq)} dose band; ASAM 2025 table, guidance only).")
    rows = [f"- {step_text(s, name)}" for s in schedule.steps[:max_rows]]
    if len(schedule.steps) > max_rows:
        rows.append(f"- … {len(schedule.steps) - max_rows} more steps in the proposed plan"
                    + (f", ending {day(schedule.ends)}" if schedule.ends else ""))
    lines.extend(rows)
    lines.extend(f"- {text}" for text in schedule.instructions)
    lines.append(f"- Follow-up by {day(schedule.follow_up)} (within 4 weeks).")
    return "\n".join(lines)


def _product(med: MedicationUse) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": med.name}
    rxnorm = coding(_RXNORM, med.rxnorm, med.name)
    if rxnorm:
        concept["coding"] = [rxnorm]
    return concept


def _activity(description: str, kind: str, starts: date, ends: date | None,
              med: MedicationUse | None = None, dose: float | None = None) -> dict[str, Any]:
    period = {"start": day(starts)} | ({"end": day(ends)} if ends else {})
    detail: dict[str, Any] = {"kind": kind, "status": "not-started", "description": description,
                              "scheduledPeriod": period}
    if med is not None:
        detail["productCodeableConcept"] = _product(med)
    if dose is not None:
        detail["dailyAmount"] = {"value": dose, "unit": "mg", "system": _UCUM, "code": "mg"}
    return {"detail": detail}


def careplan(record: PatientRecord, schedule: TaperSchedule) -> dict[str, Any] | None:
    """A draft R4 CarePlan (intent proposal) with one activity per step plus the follow-up."""
    med = schedule.med
    name = med.ingredient or med.name
    activities = []
    for index, step in enumerate(schedule.steps):
        following = schedule.steps[index + 1] if index + 1 < len(schedule.steps) else None
        ends = following.starts - timedelta(days=1) if following else None
        activities.append(_activity(step_text(step, name), "MedicationRequest", step.starts,
                                    ends, med, step.dose_mg))
    if not schedule.steps:
        activities.append(_activity(" ".join(schedule.instructions), "MedicationRequest",
                                    schedule.starts, None, med))
    activities.append(_activity(
        f"Follow-up visit by {day(schedule.follow_up)}: withdrawal symptoms, sleep/anxiety, "
        "adjust the pace; then review at least every 3 months (ASAM 2025 rec. 1).",
        "Appointment", schedule.starts, schedule.follow_up))
    period = {"start": day(schedule.starts)}
    if schedule.ends:
        period["end"] = day(schedule.ends)
    return validated(CarePlan, {
        "resourceType": "CarePlan",
        "status": "draft",
        "intent": "proposal",
        "category": [{"coding": [suggestion_code("taper-careplan")]}],
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "title": f"Gradual taper of {name}",
        "description": (f"Gradual taper of {name} agreed with the patient (ASAM 2025 joint "
                        "guideline): 5-10% every 2-4 weeks, at most 25% in 2 weeks; never stop "
                        "abruptly. Diazepam equivalents are approximate."),
        "period": period,
        "activity": activities,
        "note": [{"text": text} for text in schedule.instructions],
    })
