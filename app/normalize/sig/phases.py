"""Phases of an order in mg a day: which one is today's, or the range over all of them.

Dosages without ``sequence`` (or with the same one) run together and add up; different
sequences, and a text taper written with "then", follow one another (FHIR Dosage.sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.normalize.sig.model import Span

# A phase "for 1e9 days" is open-ended as far as today is concerned (and dates stay in range).
_LONGEST_PHASE_DAYS = 36500


@dataclass(frozen=True, slots=True)
class Daily:
    """One phase of one or more dosages, in mg a day."""

    daily: Span | None
    as_needed: bool = False
    continuous: bool = False
    days: float | None = None
    start: date | None = None
    end: date | None = None
    stop: bool = False
    conflict: bool = False  # the order's own numbers disagree (a schedule above its own cap)


def together(doses: list[Daily]) -> Daily:
    """Concurrent dosages (no sequence, or the same one): they add up."""
    total: Span | None = Span.of(0.0)
    for d in doses:
        total = None if total is None or d.daily is None else total + d.daily
    days = {d.days for d in doses}
    return Daily(
        total,
        any(d.as_needed for d in doses),
        any(d.continuous for d in doses),
        days.pop() if len(days) == 1 else None,
        doses[0].start,
        doses[0].end,
        conflict=any(d.conflict for d in doses),
    )


def across(doses: list[Daily]) -> Daily:
    """Phases when today's cannot be told: the range from the lowest to the highest."""
    taking = [d for d in doses if not d.stop]
    if not taking or any(d.daily is None for d in taking):
        return Daily(None, any(d.as_needed for d in doses))
    spans = [d.daily for d in taking if d.daily is not None]
    return Daily(
        Span(min(s.lo for s in spans), max(s.hi for s in spans)),
        any(d.as_needed for d in taking),
        any(d.continuous for d in taking),
        conflict=any(d.conflict for d in taking),
    )


def todays(phases: list[Daily], start: date | None, today: date | None) -> Daily | None:
    """The phase that covers today, counted from the order's start; None when unknowable."""
    if len(phases) == 1:
        return phases[0]
    if today is None:
        return None
    cursor = start
    try:
        for i, phase in enumerate(phases):
            if phase.start is not None or phase.end is not None:
                if (phase.start is None or phase.start <= today) and (
                    phase.end is None or today <= phase.end
                ):
                    return None if phase.stop else phase
                cursor = phase.end + timedelta(days=1) if phase.end else None
                continue
            if cursor is None:
                return None
            if today < cursor:
                return phase if i == 0 else None  # not started yet: it starts with this
            if phase.days is None or phase.days > _LONGEST_PHASE_DAYS:
                return None if phase.stop else phase
            cursor += timedelta(days=phase.days)
            if today < cursor:
                return None if phase.stop else phase
    except OverflowError:
        return None
    return None


def steps_down(phases: list[Daily]) -> bool:
    """Phases that only lower the daily dose, at least once to a smaller dose still taken.

    "1 mg for 2 weeks, then 0.5 mg for 2 weeks, then stop" is a taper; "1 mg for 14 days, then
    stop" is a course with an end, and "0.5 mg, then 1 mg" a titration up: neither is.
    """
    taking = [p for p in phases if not p.stop]
    if len(taking) < 2 or any(p.daily is None for p in taking):
        return False
    doses = [p.daily.hi for p in taking if p.daily is not None]
    return all(b <= a for a, b in zip(doses, doses[1:], strict=False)) and any(
        0 < d < doses[0] for d in doses[1:]
    )
