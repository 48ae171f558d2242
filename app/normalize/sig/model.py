"""What a sig says, before the product strength turns it into mg: amounts, times a day, phases."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

# Two readings closer than this (relative) are the same number: 1/3 a day x 3 is 1.
_REL_TOL = 1e-6


@dataclass(frozen=True, slots=True)
class Span:
    """A number, or a range lo..hi when the order allows several ("1-2 tablets", "q4-6h")."""

    lo: float
    hi: float

    @staticmethod
    def of(value: float) -> Span:
        return Span(value, value)

    @property
    def exact(self) -> bool:
        return same(self.lo, self.hi)

    def __mul__(self, other: Span) -> Span:
        return Span(self.lo * other.lo, self.hi * other.hi)

    def __add__(self, other: Span) -> Span:
        return Span(self.lo + other.lo, self.hi + other.hi)

    def scale(self, factor: float) -> Span:
        return Span(self.lo * factor, self.hi * factor)

    def cap(self, limit: float) -> Span:
        return Span(min(self.lo, limit), min(self.hi, limit))

    def union(self, other: Span) -> Span:
        return Span(min(self.lo, other.lo), max(self.hi, other.hi))

    def agrees(self, other: Span) -> bool:
        return same(self.lo, other.lo) and same(self.hi, other.hi)

    @property
    def valid(self) -> bool:
        """Finite, positive and in order: anything else is not a dose."""
        return math.isfinite(self.lo) and math.isfinite(self.hi) and 0 < self.lo <= self.hi


def same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL_TOL, abs_tol=1e-12)


# Amount units after reading: mass is converted to mg, volume to mL, rates to mg/h.
MG, ML, MG_PER_H, COUNT, UNITLESS, OTHER = "mg", "ml", "mg/h", "count", "", "?"


@dataclass(frozen=True, slots=True)
class Amount:
    """How much is taken at one time, in one of the units above."""

    value: Span
    unit: str
    # "Take 2 tablets (1 mg)": a mass the sig gives next to a count, to check the count against.
    hint_mg: float | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One administration pattern: an amount, so many times a day ("2 tablets at bedtime")."""

    amount: Amount | None
    per_day: Span | None
    as_needed: bool = False


@dataclass(frozen=True, slots=True)
class Phase:
    """Parts taken together for a while; a taper written with "then" has several phases."""

    parts: tuple[Part, ...]
    days: float | None = None  # how long this phase lasts, when the order says
    start: date | None = None  # absolute bounds (timing.repeat.boundsPeriod)
    end: date | None = None
    stop: bool = False  # "... then stop": nothing is taken in this phase


@dataclass(frozen=True, slots=True)
class Sig:
    """One reading (free text or structure) of one dosage instruction."""

    phases: tuple[Phase, ...]
    caps: tuple[Amount, ...] = ()  # most allowed per day (maxDosePerPeriod, "max 4/day")
    admin_cap: Amount | None = None  # most allowed at one time (maxDosePerAdministration)
    doses_per_day_cap: float | None = None  # "no more than 3 doses a day"
    as_needed: bool = False
    daily_total: Amount | None = None  # "total 15 mg/day": a restatement to check against

    @property
    def empty(self) -> bool:
        return (
            not any(p.amount or p.per_day for ph in self.phases for p in ph.parts) and not self.caps
        )


EMPTY = Sig(phases=())
