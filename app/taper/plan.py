"""plan_taper: a request in; a dated schedule with real tablets, or why there is none, out."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

from app.taper import products
from app.taper.constants import MAX_STEPS, PACES, SWITCH_HOLD_WEEKS
from app.taper.model import (
    PaceSummary,
    Product,
    Step,
    StepKind,
    Switch,
    TaperPlan,
    TaperRequest,
    Unplanned,
)
from app.taper.stepper import RawStep, sequence, weeks_for
from app.taper.switch import long_acting_target, to_immediate_release, to_long_acting
from app.taper.tablets import choose_tablets, smallest_unit
from app.taper.text import pace_text

# Not clinical: no benzodiazepine or Z-drug is taken at grams a day; larger numbers are misread.
_MAX_DAILY_MG = 1000


def _dose(value: float | Fraction) -> Fraction | None:
    if isinstance(value, Fraction):
        return value if value > 0 else None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return Fraction(str(value)) if value <= _MAX_DAILY_MG else None


def _product(request: TaperRequest) -> tuple[Product | None, str | None]:
    ingredient = request.ingredient.strip().lower()
    why_not = products.not_marketed(ingredient)
    if why_not:
        return None, f"{ingredient}: {why_not}; no schedule can be computed with marketed products."
    if products.drug(ingredient) is None:
        return None, f"No marketed product data for {ingredient}."
    chosen = products.product(ingredient, request.form) if request.form else None
    note = None
    if request.form and chosen is None:
        note = (
            f"No US-marketed {request.form.value} of {ingredient} in the product data: doses "
            "below use the product named in each step."
        )
    return chosen or products.default_product(ingredient), note


def _dates(raw: list[RawStep], first: date) -> list[date]:
    out, when = [], first
    for step in raw:
        when = when + timedelta(weeks=step.wait_weeks)
        out.append(when)
    return out


def _steps(
    prod: Product,
    start_mg: Fraction,
    raw: list[RawStep],
    starts: date,
    request: TaperRequest,
    switch: Switch | None,
) -> list[Step]:
    when = _dates(raw, starts)
    how = choose_tablets(
        prod,
        [start_mg, *(r.dose for r in raw)],
        request.times,
        Fraction(str(request.strength_mg)) if request.strength_mg else None,
    )
    steps: list[Step] = []
    if switch is not None:
        ends = when[0] - timedelta(days=1) if raw else None
        steps.append(
            Step(
                StepKind.SWITCH,
                starts,
                ends,
                switch.to_ingredient,
                switch.to_form,
                switch.to_mg,
                switch.from_mg,
                0,
                how.get(switch.to_mg, ()),
            )
        )
    previous = start_mg
    for index, (step, day) in enumerate(zip(raw, when, strict=True)):
        following = when[index + 1] - timedelta(days=1) if index + 1 < len(when) else None
        kind = StepKind.STOP if step.dose == 0 else StepKind.REDUCE
        steps.append(
            Step(
                kind,
                day,
                following,
                prod.ingredient,
                None if kind is StepKind.STOP else prod.form,
                step.dose,
                previous,
                step.held_weeks * 7,
                how.get(step.dose, ()),
            )
        )
        previous = step.dose
    return steps


def _pace(start_mg: Fraction, raw: list[RawStep], every: int) -> PaceSummary:
    regular, slow, shares = 0, [], []
    previous = start_mg
    for step in raw:
        share = (previous - step.dose) / previous
        if weeks_for(share) > every:
            slow.append(step.held_weeks)
        else:
            regular += 1
            shares.append((previous - step.dose) / start_mg)
        previous = step.dose
    fraction = sum(shares, Fraction(0)) / len(shares) if shares else None
    summary = PaceSummary(
        fraction, every, regular, len(slow), tuple(sorted(set(slow))), "", len(set(shares)) == 1
    )
    return replace(summary, text=pace_text(summary))


def plan_taper(request: TaperRequest) -> TaperPlan | Unplanned:
    """The schedule for an exact, confirmed daily dose; Unplanned (with the reason) otherwise."""
    today = _dose(request.daily_dose_mg)
    if today is None:
        return Unplanned(
            "The total daily dose is not a confirmed positive number (mg/day); "
            "confirm it before computing a schedule."
        )
    prod, note = _product(request)
    if prod is None:
        return Unplanned(note or f"No product data for {request.ingredient}.")
    notes = [note] if note else []
    sources = [prod.source]
    share, every = PACES[request.pace]
    switch: Switch | None = None
    start_mg, hold = today, 0
    if request.switch_to:
        target = long_acting_target(prod.ingredient, request.switch_to)
        if target is None:
            return Unplanned(
                f"A switch from {prod.ingredient} to {request.switch_to} is not "
                "offered (ASAM 2025 rec. 7 concerns short-acting benzodiazepines "
                "with a known equivalence)."
            )
        switch = to_long_acting(prod.ingredient, today, target)
        prod, start_mg, hold = target, switch.to_mg, SWITCH_HOLD_WEEKS
    elif prod.form.extended_release:
        found = to_immediate_release(prod, today)
        if found is not None:
            prod, switch = found
            start_mg, hold = switch.to_mg, SWITCH_HOLD_WEEKS
        else:
            notes.append(
                f"Extended-release {prod.ingredient} is never split: the plan uses "
                "its own strengths."
            )
    raw = sequence(start_mg, smallest_unit(prod), share, every, request.extra_weeks, hold)
    if raw and raw[-1].dose != 0:
        notes.append(f"The plan stops after {MAX_STEPS} steps; continue at the same pace.")
    steps = _steps(prod, start_mg, raw, request.starts, request, switch)
    if prod.source not in sources:
        sources.append(prod.source)
    return TaperPlan(
        request,
        prod.ingredient,
        today,
        tuple(steps),
        switch,
        _pace(start_mg, raw, every),
        tuple(notes),
        tuple(sources),
        smallest_unit(prod),
    )
