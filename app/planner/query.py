"""The planner's query string: read and checked into a PlannerQuery, and written back out.

The query carries no patient data: only the drug, its form and strength, the confirmed daily
dose, the start date, the pace and the planner's adjustments (switch, times of day, holds).
Every problem is collected and named by parameter, never by echoing what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from types import MappingProxyType

from app.taper import LIQUID, LONG_ACTING_TARGETS, Form, Pace, mg
from app.taper import products as taper_products
from app.taper.constants import MAX_STEPS

# Not clinical: doses are written with at most 4 decimals (0.0625 mg is a quarter of 0.25 mg);
# no benzodiazepine or Z-drug is taken at 1 g a day (the engine refuses more, too).
_NUMBER = re.compile(r"^\d{1,4}(\.\d{1,4})?$")
MAX_DAILY_MG = Fraction(1000)
# Not clinical: a plan starts within two years of today; older or later links are typos.
START_WINDOW = timedelta(days=730)
# ASAM 2025 rec. 8-9 and Pottie 2018: when symptoms appear, hold the dose 1-2 weeks ("hold"),
# or pause longer, then continue more slowly. The planner offers these extra weeks per step.
HOLD_WEEKS = 2
EXTRA_WEEKS_CHOICES = (0, HOLD_WEEKS, 4, 8, 12)
TIME_WORDS = ("morning", "noon", "afternoon", "evening", "bedtime")
# Not clinical: more than 4 times a day is not a taper anyone dispenses.
MAX_TIMES = 4
PAPERS = ("a4", "letter")
KNOWN = frozenset(
    {"drug", "form", "strength", "dose", "start", "pace", "switch", "times", "hold", "paper"}
)


class PlannerInputError(ValueError):
    """The query cannot be read; ``problems`` name the parameters (never their values)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PlannerQuery:
    drug: str
    start: date
    form: str | None = None  # a Form value, LIQUID, or None (the drug's usual product)
    strength_mg: Fraction | None = None
    dose_mg: Fraction | None = None  # the confirmed total daily dose; None: ask for it
    pace: Pace = Pace.STANDARD
    switch_to: str | None = None
    times: tuple[str, ...] = ()
    holds: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))  # step: weeks
    paper: str | None = None

    @property
    def tablet_form(self) -> Form | None:
        return Form(self.form) if self.form and self.form != LIQUID else None

    @property
    def extra_weeks(self) -> dict[int, int]:
        """The engine's ``extra_weeks``: step n (1-based, as shown) is reduction index n - 1."""
        return {step - 1: weeks for step, weeks in self.holds.items() if weeks}

    def with_(self, **changes: object) -> PlannerQuery:
        # mypy checks replace()'s keywords against each field's type, which `object` cannot
        # meet; callers name fields with their own types, and replace() rejects unknown names.
        return replace(self, **changes)  # type: ignore[arg-type]


def marketed_drugs() -> tuple[str, ...]:
    return tuple(sorted(d.ingredient for d in taper_products.marketed()))


def forms_of(drug: str) -> tuple[str, ...]:
    found = taper_products.drug(drug)
    return tuple(p.form.value for p in found.products) if found else ()


def _one(params: Mapping[str, list[str]], name: str, problems: list[str]) -> str | None:
    values = params.get(name, [])
    if len(values) > 1:
        problems.append(f"{name}: given more than once.")
        return None
    value = values[0].strip() if values else ""
    return value or None


def _amount(text: str | None, name: str, what: str, problems: list[str]) -> Fraction | None:
    if text is None:
        return None
    if not _NUMBER.match(text):
        problems.append(f"{name}: {what} must be a number of mg such as 1.5 (up to 4 decimals).")
        return None
    value = Fraction(text)
    if value <= 0 or value > MAX_DAILY_MG:
        problems.append(f"{name}: {what} must be more than 0 and at most {MAX_DAILY_MG} mg.")
        return None
    return value


def _start(text: str | None, today: date, problems: list[str]) -> date:
    if text is None:
        return today
    try:
        value = date.fromisoformat(text)
    except ValueError:
        problems.append("start: the start date must be a date written YYYY-MM-DD.")
        return today
    if abs(value - today) > START_WINDOW:
        problems.append("start: the start date must be within 2 years of today.")
        return today
    return value


def _times(text: str | None, problems: list[str]) -> tuple[str, ...]:
    if text is None:
        return ()
    words = tuple(w.strip().lower() for w in text.split(",") if w.strip())
    if (
        not words
        or len(words) > MAX_TIMES
        or len(set(words)) != len(words)
        or any(w not in TIME_WORDS for w in words)
    ):
        problems.append(
            f"times: up to {MAX_TIMES} different times of day from "
            f"{', '.join(TIME_WORDS)}, separated by commas."
        )
        return ()
    return words


def _holds(values: Iterable[str], problems: list[str]) -> dict[int, int]:
    holds: dict[int, int] = {}
    for value in values:
        step_text, _, weeks_text = value.partition(":")
        if not (
            step_text.isdigit()
            and weeks_text.isdigit()
            and 1 <= int(step_text) <= MAX_STEPS
            and int(weeks_text) in EXTRA_WEEKS_CHOICES
        ):
            problems.append(
                f"hold: each hold is STEP:WEEKS, a step number from 1 to {MAX_STEPS} "
                f"and weeks from {', '.join(map(str, EXTRA_WEEKS_CHOICES))}."
            )
            return {}
        if int(step_text) in holds:
            problems.append("hold: a step is given more than once.")
            return {}
        holds[int(step_text)] = int(weeks_text)
    return {step: weeks for step, weeks in sorted(holds.items()) if weeks}


def _choice(text: str | None, name: str, allowed: Iterable[str], problems: list[str]) -> str | None:
    options = tuple(allowed)
    if text is not None and text.lower() not in options:
        problems.append(f"{name}: must be one of {', '.join(options)}.")
        return None
    return text.lower() if text else None


def parse(params: Mapping[str, list[str]], today: date) -> PlannerQuery:
    """A checked PlannerQuery from the query parameters; PlannerInputError names each problem."""
    problems: list[str] = []
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        # Names only (no values); a link with more than we asked for may carry patient data.
        problems.append(
            f"unknown parameters: {', '.join(n[:20] for n in unknown[:5])}. "
            f"The planner reads only {', '.join(sorted(KNOWN))}."
        )
    drug_text = _one(params, "drug", problems)
    drug = drug_text.lower() if drug_text else None
    if drug is None:
        problems.append("drug: name the benzodiazepine or Z-drug (its generic name).")
    elif drug not in marketed_drugs():
        problems.append(
            f"drug: not a benzodiazepine or Z-drug with marketed oral products here; "
            f"one of {', '.join(marketed_drugs())}."
        )
        drug = None
    form = _choice(
        _one(params, "form", problems),
        "form",
        (*(forms_of(drug) if drug else tuple(f.value for f in Form)), LIQUID),
        problems,
    )
    strength = _amount(_one(params, "strength", problems), "strength", "the strength", problems)
    dose = _amount(_one(params, "dose", problems), "dose", "the daily dose", problems)
    start = _start(_one(params, "start", problems), today, problems)
    pace = _choice(_one(params, "pace", problems), "pace", [p.value for p in Pace], problems)
    switch = _choice(_one(params, "switch", problems), "switch", LONG_ACTING_TARGETS, problems)
    info = taper_products.drug(drug) if drug else None
    if switch and info is not None and not info.long_acting_switch:
        # ASAM 2025 rec. 7 concerns short-acting benzodiazepines (products.json flag).
        problems.append(
            f"switch: the long-acting switch is offered for short-acting "
            f"benzodiazepines only, not for {drug}."
        )
    times = _times(_one(params, "times", problems), problems)
    holds = _holds(params.get("hold", []), problems)
    paper = _choice(_one(params, "paper", problems), "paper", PAPERS, problems)
    if problems or drug is None:
        raise PlannerInputError(problems)
    return PlannerQuery(
        drug,
        start,
        form,
        strength,
        dose,
        Pace(pace or Pace.STANDARD.value),
        switch,
        times,
        MappingProxyType(holds),
        paper,
    )


def to_params(query: PlannerQuery, *, paper: bool = False) -> list[tuple[str, str]]:
    """The query as (name, value) pairs in a fixed order; what a link or a form carries."""
    pairs = [("drug", query.drug)]
    if query.form:
        pairs.append(("form", query.form))
    if query.strength_mg is not None:
        pairs.append(("strength", mg(query.strength_mg)))
    if query.dose_mg is not None:
        pairs.append(("dose", mg(query.dose_mg)))
    pairs += [("start", query.start.isoformat()), ("pace", query.pace.value)]
    if query.switch_to:
        pairs.append(("switch", query.switch_to))
    if query.times:
        pairs.append(("times", ",".join(query.times)))
    pairs += [("hold", f"{step}:{weeks}") for step, weeks in sorted(query.holds.items())]
    if paper and query.paper:
        pairs.append(("paper", query.paper))
    return pairs
