"""Where a rule's guideline does not apply: end-of-life care, the benzodiazepine exceptions, and
whether a taper plan on record is about the sedative at all (issue #11: exceptions applied
where they belong, not across every drug of a patient with the condition)."""

from __future__ import annotations

from collections.abc import Iterable

from app.cards.base import current_medications
from app.record import (
    BZRA_CLASSES,
    ConditionCategory,
    DrugClass,
    MedicationUse,
    PatientRecord,
    PlanKind,
)


def end_of_life(record: PatientRecord) -> bool:
    """Hospice, palliative or end-of-life care, on the problem list or ordered / planned.

    Outside the scope of Beers 2023 ("except hospice and end-of-life care settings"), ASAM 2025
    (not for palliative or end-of-life care) and CDC 2022 (End of Life Assessment).
    """
    return record.has_condition(ConditionCategory.END_OF_LIFE) or record.has_plan(
        PlanKind.END_OF_LIFE_CARE
    )


def benzo_exception(
    med: MedicationUse, record: PatientRecord, categories: Iterable[ConditionCategory]
) -> ConditionCategory | None:
    """The condition for which this benzodiazepine may be appropriate, or None.

    Benzodiazepines only: seizure disorders, withdrawal and the other Beers 2023 Table 2
    exceptions are about benzodiazepines, and no Z-drug treats them (zolpidem for insomnia in a
    patient with epilepsy is not excepted). An order whose stated reason is something else is
    not used for the condition; an order with no recognised reason is judged by the problem list.
    """
    if med.drug_class is not DrugClass.BENZODIAZEPINE:
        return None
    wanted = tuple(categories)
    for category in wanted:
        if category in med.reason_categories:
            return category
    if med.reason_categories:
        return None
    return next((c for c in wanted if record.has_condition(c)), None)


# Classes besides the sedatives that a taper plan may be about (CDC 2022 rec. 5 and the HHS
# 2019 guide taper opioids; gabapentinoids and barbiturates are tapered too).
_OTHER_TAPERED = frozenset(
    {
        DrugClass.OPIOID,
        DrugClass.GABAPENTINOID,
        DrugClass.BARBITURATE,
        DrugClass.OTHER_CNS_DEPRESSANT,
    }
)


def sedative_taper_plan(record: PatientRecord) -> bool:
    """An active taper plan about a benzodiazepine or Z-drug (issue #11).

    A plan that names a drug, class or condition counts only when that is a sedative; a plan that
    names nothing counts only when the sedatives are the only drugs on the list it could be
    about (an unnamed "taper plan" beside an opioid may be the opioid's).
    """
    plans = [p for p in record.plans if p.kind is PlanKind.TAPER_PLAN and p.is_active]
    if any(p.about & BZRA_CLASSES for p in plans):
        return True
    unnamed = any(not p.about for p in plans)
    return unnamed and not any(m.drug_class in _OTHER_TAPERED for m in current_medications(record))
