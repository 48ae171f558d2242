"""What both readers share once resources are read: skip counts, the condition index, and the
plans derived from the orders themselves (taper notes, dose-reduction sequences)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any, TypeVar

from app.config import Settings
from app.normalize.errors import Malformed
from app.record import (
    BZRA_CLASSES,
    ConditionCategory,
    ConditionFact,
    MedicationUse,
    PatientRecord,
    PlanFact,
    PlanKind,
)

ORDER_TYPES = frozenset({"MedicationRequest", "MedicationOrder"})
PLAN_TYPES = frozenset({"CarePlan", "ServiceRequest"})
# Orders that were never in force; left out of the record (not counted as unreadable).
DISCARDED_ORDER_STATUSES = frozenset({"entered-in-error"})
# OverflowError: absurd dates or supplies (year 9999, a billion days) past date arithmetic.
READ_ERRORS = (
    Malformed,
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
)

T = TypeVar("T")


class Skips:
    def __init__(self, initial: dict[str, int]) -> None:
        self.counts = dict(initial)

    def add(self, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1


def safe(kind: str, func: Callable[[], T], skips: Skips) -> T | None:
    """Run one resource's normalization; a failure becomes a count, never an exception."""
    try:
        return func()
    except READ_ERRORS:
        skips.add(f"{kind}: unreadable")
        return None


def of_types(
    resources: Iterable[Any], expected: frozenset[str], skips: Skips
) -> list[dict[str, Any]]:
    out = []
    for resource in resources:
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(rtype, str):
            skips.add("resource without resourceType")
        elif rtype in expected:
            out.append(resource)
        elif rtype.isalpha() and len(rtype) <= 40:
            skips.add(f"{rtype}: not supported here")
        else:
            skips.add("resource without resourceType")
    return out


def condition_index(facts: list[ConditionFact]) -> dict[str, frozenset[ConditionCategory]]:
    """Categories by every spelling of a Condition reference we can match (Synthea: urn:uuid)."""
    index: dict[str, frozenset[ConditionCategory]] = {}
    for fact in facts:
        index[fact.ref] = fact.categories
        index["urn:uuid:" + fact.ref.split("/", 1)[1]] = fact.categories
    return index


def condition_names(facts: list[ConditionFact]) -> dict[str, str]:
    """Names by the same spellings as ``condition_index``, for an order's reasonReference."""
    names: dict[str, str] = {}
    for fact in facts:
        if fact.name:
            names[fact.ref] = names["urn:uuid:" + fact.ref.split("/", 1)[1]] = fact.name
    return names


def _taper_sequences(meds: list[MedicationUse], today: date, window_days: int) -> list[PlanFact]:
    """A later, lower-dose order of the same BZRA ingredient started recently counts as a taper.

    Window: the ASAM 2025 reassessment interval (rec. 1, at least every 3 months), so a dose
    reduction made since the last expected review is read as a taper in progress.
    """
    by_ingredient: dict[str, list[MedicationUse]] = {}
    for med in meds:
        # Only exact doses show a reduction: a PRN maximum or a range says nothing about use.
        if (
            med.drug_class in BZRA_CLASSES
            and med.ingredient
            and med.start is not None
            and med.exact_dose_mg is not None
            and med.status != "cancelled"
        ):
            by_ingredient.setdefault(med.ingredient, []).append(med)
    facts = []
    since = today - timedelta(days=window_days)
    for orders in by_ingredient.values():
        orders.sort(key=lambda m: (m.start, m.authored_on or m.start, m.is_draft))
        for earlier, later in zip(orders, orders[1:], strict=False):
            if (
                (later.exact_dose_mg or 0) < (earlier.exact_dose_mg or 0)
                and later.start is not None
                and later.start >= since
            ):
                facts.append(
                    PlanFact(
                        ref=later.ref,
                        kind=PlanKind.TAPER_PLAN,
                        recorded_on=later.start,
                        is_active=later.is_active or later.is_draft,
                        about=frozenset({later.drug_class}),
                    )
                )
    return facts


def finish(
    *,
    patient_id: str,
    hook: str,
    today: date,
    settings: Settings,
    birth: date | None,
    age: int | None,
    meds: list[MedicationUse],
    conditions: list[ConditionFact],
    plans: list[PlanFact],
    skips: Skips,
    missing: Iterable[str],
) -> PatientRecord:
    """The record, with the plans the orders document themselves."""
    # A taper written into a benzodiazepine order's note or instructions is a taper plan.
    plans += [
        PlanFact(
            ref=m.ref,
            kind=PlanKind.TAPER_PLAN,
            recorded_on=m.authored_on or m.start,
            is_active=m.is_active or m.is_draft,
            about=frozenset({m.drug_class}),
        )
        for m in meds
        if m.mentions_taper and m.drug_class in BZRA_CLASSES
    ]
    plans += _taper_sequences(meds, today, settings.review_interval_days)

    return PatientRecord(
        patient_id=patient_id,
        hook=hook,
        evaluated_on=today,
        birth_date=birth,
        age=age,
        medications=tuple(meds),
        conditions=tuple(conditions),
        plans=tuple(plans),
        skipped=skips.counts,
        missing_data=frozenset(missing),
    )
