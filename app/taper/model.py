"""The taper engine's inputs and outputs: frozen values the card, CarePlan and planner read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType


class Form(StrEnum):
    """Oral solid forms a taper can be dispensed in (products.json ``form``)."""

    TABLET = "tablet"
    ODT = "odt"  # orally disintegrating tablet: never split
    ER_TABLET = "er-tablet"  # extended release: never split
    ER_CAPSULE = "er-capsule"
    CAPSULE = "capsule"
    FILM = "film"
    SL_TABLET = "sl-tablet"  # sublingual

    @property
    def extended_release(self) -> bool:
        return self in (Form.ER_TABLET, Form.ER_CAPSULE)


class Pace(StrEnum):
    """Pace options within ASAM 2025 rec. 6 (5-10% every 2-4 weeks); numbers in constants."""

    STANDARD = "standard"
    SLOWER = "slower"


class StepKind(StrEnum):
    SWITCH = "switch"  # same total daily dose in another product or an equivalent drug
    REDUCE = "reduce"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Strength:
    mg: Fraction
    parts: int = 1  # 1 = never split, 2 = halves (scored), 4 = quarters (multi-scored)


@dataclass(frozen=True, slots=True)
class Product:
    ingredient: str
    form: Form
    strengths: tuple[Strength, ...]
    source: str
    ir_switch: Form | None = None  # label: same total daily dose as this immediate-release form


@dataclass(frozen=True, slots=True, order=True)
class Piece:
    """What a patient takes at once: a whole unit, or a half or quarter of a scored tablet."""

    strength_mg: Fraction
    parts: int = 1  # 1 whole, 2 half, 4 quarter

    @property
    def mg(self) -> Fraction:
        return self.strength_mg / self.parts


@dataclass(frozen=True, slots=True)
class Administration:
    """The pieces taken at one time of day (``when`` None: spread over the day as prescribed)."""

    when: str | None
    mg: Fraction
    pieces: tuple[tuple[Piece, int], ...]  # (piece, how many)


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    starts: date
    ends: date | None  # last day on this dose; None for the stop
    ingredient: str
    form: Form | None  # None once stopped
    dose_mg: Fraction  # daily dose from ``starts``
    previous_mg: Fraction  # daily dose before (of the previous drug, for a switch)
    held_days: int  # days on the previous dose before this step
    how: tuple[Administration, ...] = ()

    @property
    def reduction(self) -> Fraction:
        """Share of the previous daily dose removed; 0 for a switch."""
        if self.kind is StepKind.SWITCH or self.previous_mg <= 0:
            return Fraction(0)
        return (self.previous_mg - self.dose_mg) / self.previous_mg


@dataclass(frozen=True, slots=True)
class Switch:
    """A switch before tapering: extended release to immediate release, or to a long-acting drug."""

    from_ingredient: str
    from_mg: Fraction
    to_ingredient: str
    to_form: Form
    to_mg: Fraction
    range_mg: tuple[Fraction, Fraction] | None  # equivalent dose across the table's columns
    why: str


@dataclass(frozen=True, slots=True)
class TaperRequest:
    """What the card, the CarePlan and the planner page ask for.

    ``daily_dose_mg`` is the exact, confirmed total daily dose: uncertain or as-needed doses
    never reach the engine. ``extra_weeks`` holds a step (0 = first reduction) for more weeks, a
    pause being a long hold. ``switch_to`` asks for the long-acting switch (ASAM rec. 7).
    """

    ingredient: str
    daily_dose_mg: float | Fraction
    starts: date
    form: Form | None = None
    strength_mg: float | None = None
    times: tuple[str, ...] = ()
    pace: Pace = Pace.STANDARD
    extra_weeks: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))
    switch_to: str | None = None


@dataclass(frozen=True, slots=True)
class PaceSummary:
    fraction_of_start: Fraction | None  # typical reduction as a share of the starting dose
    every_weeks: int  # interval of the regular steps
    regular_steps: int
    slow_steps: int  # steps whose interval was lengthened (one unit > 25%)
    slow_weeks: tuple[int, ...]  # distinct lengthened intervals, ascending
    text: str
    uniform: bool = False  # every regular step removes the same share


@dataclass(frozen=True, slots=True)
class TaperPlan:
    request: TaperRequest
    ingredient: str  # the drug tapered to zero (the target of a switch)
    today_mg: Fraction
    steps: tuple[Step, ...]
    switch: Switch | None
    pace: PaceSummary
    notes: tuple[str, ...]
    sources: tuple[str, ...]  # product data sources used
    unit_mg: Fraction = Fraction(0)  # the smallest dispensable unit of the tapered product

    @property
    def ends(self) -> date | None:
        last = self.steps[-1] if self.steps else None
        return last.starts if last is not None and last.kind is StepKind.STOP else None

    @property
    def reductions(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.kind is not StepKind.SWITCH)


@dataclass(frozen=True, slots=True)
class Unplanned:
    """Why no schedule was computed; the card says so and asks for what is missing."""

    reason: str
