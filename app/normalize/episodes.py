"""Continuous use across renewals: one episode per run of orders of the same ingredient.

Orders of one ingredient (completed, stopped, active, on-hold, and drafts) whose periods follow
each other with gaps of at most ``renewal_gap_days`` form one episode; an order that continues
earlier ones gets the episode's first day as ``episode_start`` (an order that starts its own
episode keeps None: its start is the episode's, and leaving it spares a copy on the hot path).
Rules that judge "taken for 28 days or more" read the episode, not the latest order: three
monthly renewals plus the current order are long-term use.

Each order covers, by status (DESIGN.md "Reading real data"):
- in force (active / on-hold within the stale window): its start to the evaluation date at
  least, whatever its supply says (the EHR's status beats our estimate);
- completed / stopped: start to its supply-based (or stated) end, or the start day alone;
- a draft: start (today when it has no date) to its computed end.

Departure from CDC Opioid CDS: its "Days on Opioids during Period" collapses supply intervals
with no gap allowed; we allow a grace gap between fills (settings.renewal_gap_days, cited
there), because patients refill late and leftover tablets bridge the gap. Injectable orders
(periprocedural single doses) never join an episode.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from app.record import DrugClass, MedicationUse

# Statuses of chart orders that document use; cancelled, unknown and entered-in-error do not.
USE_STATUSES = frozenset({"active", "on-hold", "completed", "stopped"})


def _covers_until(med: MedicationUse, today: date) -> date:
    assert med.start is not None
    if med.is_active:
        return max(today, med.end or today)
    return max(med.start, med.end or med.start)


def _joins(med: MedicationUse) -> bool:
    return (
        med.ingredient is not None
        and med.start is not None
        and not med.is_injectable
        and med.drug_class is not DrugClass.OTHER
        and (med.is_draft or med.status in USE_STATUSES)
    )


def with_episodes(meds: list[MedicationUse], today: date, gap_days: int) -> list[MedicationUse]:
    """The same orders; those that continue an earlier order carry ``episode_start``."""
    by_ingredient: dict[str, list[int]] = {}
    for index, med in enumerate(meds):
        if _joins(med):
            by_ingredient.setdefault(med.ingredient or "", []).append(index)
    if not by_ingredient:
        return meds
    out = list(meds)
    gap = timedelta(days=gap_days)
    for indexes in by_ingredient.values():
        indexes.sort(key=lambda i: (meds[i].start, meds[i].is_draft, meds[i].ref))
        first: date | None = None
        covered: date | None = None
        for index in indexes:
            med = meds[index]
            assert med.start is not None
            if covered is None or med.start > covered + gap:
                first, covered = med.start, _covers_until(med, today)
            else:
                covered = max(covered, _covers_until(med, today))
            if first is not None and first < med.start:
                out[index] = replace(med, episode_start=first)
    return out
