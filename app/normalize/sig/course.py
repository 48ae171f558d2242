"""How long a sig runs in all ("1 mg twice daily for 30 days"; "..., then 0.5 mg for 2 weeks,
then stop"), for an order whose structure states no duration.

Phases follow one another, so their durations add up; a final "stop" ends the course. A phase
with no duration before the last one leaves the course unknown, and so does an open last phase
("2 mg for a week, then 1 mg"). Dosages without ``sequence`` (or with the same one) run
together: the course is the longest of them, known only when all of them are. Different
sequences follow one another and add up (FHIR Dosage.sequence).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from app.normalize.sig.model import Phase
from app.normalize.sig.structured import duration_days, obj, text
from app.normalize.sig.text import parse_text

# No course of any drug this service reads is written for a century: such a figure is no end.
_LONGEST_COURSE_DAYS = 36500.0


def phases_days(phases: Iterable[Phase]) -> float | None:
    """Days the phases run in all; None when any phase but a final stop has no duration."""
    total = 0.0
    listed = list(phases)
    for index, phase in enumerate(listed):
        if phase.stop and index == len(listed) - 1:
            break
        if phase.days is None:
            return None
        total += phase.days
    return total if 0 < total <= _LONGEST_COURSE_DAYS else None


@lru_cache(maxsize=4096)
def text_days(words: str) -> float | None:
    """The course a free-text sig states ("x 30 days"), or None (cached: EHRs repeat sigs)."""
    return phases_days(parse_text(words).phases)


def _dosage_days(dosage: dict[str, Any]) -> float | None:
    for words in (text(dosage.get("text")), text(dosage.get("patientInstruction"))):
        days = text_days(words) if words else None
        if days is not None:
            return days
    repeat = obj((obj(dosage.get("timing")) or {}).get("repeat")) or {}
    return duration_days(repeat.get("boundsDuration"))


def course_days(dosages: Iterable[Any]) -> float | None:
    """Days the dosage instructions run in all, from their words or durations; never raises."""
    groups: dict[int | None, list[float | None]] = {}
    key: int | None = None
    for dosage in dosages:
        if type(dosage) is not dict:
            return None
        sequence = dosage.get("sequence")
        key = sequence if type(sequence) is int else key
        groups.setdefault(key, []).append(_dosage_days(dosage))
    total = 0.0
    for lengths in groups.values():
        if not lengths or any(d is None for d in lengths):
            return None
        total += max(d for d in lengths if d is not None)
    return total if 0 < total <= _LONGEST_COURSE_DAYS else None
