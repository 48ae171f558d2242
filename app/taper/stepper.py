"""The dose sequence: each reduction, and how long the dose before it is held.

Rules (constants.py has the citations):
- each step removes about PACES[pace] of the *starting* dose, rounded to whole multiples of the
  smallest piece, never more than MAX_REDUCTION of the current dose and never less than one piece;
- when even one piece is more than MAX_REDUCTION of the current dose (the tail), the step stays
  one piece and the time before it lengthens: a reduction of share f waits f / 25% x 2 weeks
  (a third: 3 weeks, a half: 4 weeks, the last piece: 8 weeks);
- the last dose before stopping is therefore the smallest piece, held 8 weeks (4 with credit);
- ``extra_weeks[i]`` holds step i's dose longer (a "hold 2 more weeks" or a pause).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from app.taper.constants import CREDITED_WEEKS, MAX_REDUCTION, MAX_REDUCTION_WEEKS, MAX_STEPS


@dataclass(frozen=True, slots=True)
class RawStep:
    dose: Fraction
    wait_weeks: int  # weeks from the previous step (or the plan start) to this one
    held_weeks: int  # weeks on the previous dose before this step (credit included)


def weeks_for(share: Fraction) -> int:
    """Whole weeks at a dose before removing ``share`` of it keeps <= 25% per 2 weeks."""
    return math.ceil(share / MAX_REDUCTION * MAX_REDUCTION_WEEKS)


def next_dose(current: Fraction, decrement: Fraction, unit: Fraction) -> Fraction:
    """The dose after ``current``: near current - decrement, within 25%, at least one unit less.

    Doses are whole multiples of the smallest piece (``unit``): any of them is made of real
    pieces, and one ladder keeps the steps even (no 3.5 mg made of two different halves).
    """
    below = math.ceil(current / unit) - 1  # units in the largest dose under current
    lowest = math.ceil(current * (1 - MAX_REDUCTION) / unit)
    if lowest > below:
        return below * unit  # one unit is more than 25%: the smallest step, waited for
    target = (current - decrement) / unit
    units = min(range(lowest, below + 1), key=lambda k: (abs(k - target), -k))
    return units * unit


def sequence(
    start: Fraction,
    unit: Fraction,
    share: Fraction,
    every_weeks: int,
    extra_weeks: Mapping[int, int],
    first_wait_floor: int = 0,
) -> list[RawStep]:
    """Reductions from ``start`` to 0; ``first_wait_floor``: weeks before the first (switch)."""
    decrement = share * start
    current = start
    steps: list[RawStep] = []
    while current > 0 and len(steps) < MAX_STEPS:
        dose = next_dose(current, decrement, unit)
        need = weeks_for((current - dose) / current)
        index = len(steps)
        if index == 0 and first_wait_floor:
            wait = held = max(first_wait_floor, need)  # a new drug or form: no credit
        elif index == 0:
            wait = max(need - CREDITED_WEEKS, 0)  # today's dose: held CREDITED_WEEKS already
            held = wait + CREDITED_WEEKS
        else:
            wait = max(every_weeks, need) + max(0, extra_weeks.get(index - 1, 0))
            held = wait
        steps.append(RawStep(dose, wait, held))
        current = dose
    return steps
