"""build_record with the real app.terminology: tall-man names, RxNorm codes, MME, speed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.config import Settings
from app.normalize import build_record
from app.record import DrugClass, MedicationUse
from tests.normalize.builders import condition, dosage, gathered, med_request, patient
from tests.normalize.conftest import TODAY


def one(settings: Settings, med: dict) -> MedicationUse:
    rec = build_record(gathered(meds=[med]), today=TODAY, settings=settings)
    assert rec.skipped == {}
    return rec.medications[0]


@pytest.mark.parametrize(
    ("text", "drug_class", "ingredient"),
    [
        (
            "Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet",
            DrugClass.OPIOID,
            "hydrocodone",
        ),
        ("oxyCODONE HCl 5 mg tablet", DrugClass.OPIOID, "oxycodone"),
        ("ALPRAZolam 0.5 MG Oral Tablet", DrugClass.BENZODIAZEPINE, "alprazolam"),
        ("LORazepam 1 mg tablet", DrugClass.BENZODIAZEPINE, "lorazepam"),
        ("clonazePAM 0.5 MG Oral Tablet", DrugClass.BENZODIAZEPINE, "clonazepam"),
        ("Amoxicillin 500 MG Oral Capsule", DrugClass.OTHER, None),
    ],
)
def test_tall_man_names(
    settings: Settings, text: str, drug_class: DrugClass, ingredient: str | None
) -> None:
    use = one(settings, med_request(text=text))
    assert (use.name, use.drug_class, use.ingredient) == (text, drug_class, ingredient)


def test_hydrocodone_combination_mme(settings: Settings) -> None:
    use = one(
        settings,
        med_request(
            text="Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet",
            dosages=[dosage(text="take 1-2 tablets every 6 hours as needed")],
        ),
    )
    assert use.strength_mg == pytest.approx(7.5)
    assert use.daily_dose_mg == pytest.approx(60.0)  # 2 x 7.5 mg x 4/day (upper bound)
    assert use.mme_per_day == pytest.approx(60.0)  # CDC 2022 hydrocodone factor 1


def test_fentanyl_patch_by_rxnorm_code(settings: Settings) -> None:
    use = one(
        settings,
        med_request(
            code="245134",
            dosages=[dosage(value=1, unit="patch", frequency=1, period=72, period_unit="h")],
        ),
    )
    assert (use.drug_class, use.ingredient, use.rxnorm) == (DrugClass.OPIOID, "fentanyl", "245134")
    assert use.mme_per_day == pytest.approx(60.0)  # 25 mcg/h x 2.4


def test_alprazolam_diazepam_equivalent(settings: Settings) -> None:
    use = one(
        settings,
        med_request(
            text="ALPRAZolam 0.5 MG Oral Tablet",
            dosages=[dosage(value=1, unit="tablet", timing_code="TID")],
        ),
    )
    assert use.daily_dose_mg == pytest.approx(1.5)
    assert use.diazepam_eq_mg_per_day is not None and use.diazepam_eq_mg_per_day > 1.5


def test_heavy_record(settings: Settings) -> None:
    """~100 MedicationRequests + 50 Conditions all normalize (speed is measured in bench/)."""
    texts = [
        "ALPRAZolam 0.5 MG Oral Tablet",
        "oxyCODONE 5 MG Oral Tablet",
        "Lisinopril 10 MG Oral Tablet",
        "Metformin 500 MG Oral Tablet",
    ]
    meds = [
        med_request(
            f"m{i}",
            code=None,
            display=None,
            text=texts[i % 4],
            authored=(TODAY - timedelta(days=i * 7)).isoformat(),
            dosages=[
                dosage(
                    value=1,
                    unit="tablet",
                    frequency=2,
                    period=1,
                    text=None if i % 2 else "1 tablet twice daily",
                )
            ],
            supply=(30, "d"),
            repeats=1,
            notes=["take with food"],
            reason_refs=[f"Condition/c{i % 50}"],
        )
        for i in range(100)
    ]
    meds += [med_request("rx", code="308047")]
    conds = [
        condition(f"c{i}", text="Insomnia" if i % 7 == 0 else f"Condition {i}", onset="2020-01-01")
        for i in range(50)
    ]
    g = gathered(patient_resource=patient(), meds=meds, conditions=conds)
    rec = build_record(g, today=TODAY, settings=settings)
    assert len(rec.medications) == 101 and len(rec.conditions) == 50
