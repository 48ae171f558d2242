"""The dose on MedicationUse: confidence, range bottom, PRN flag; MME and diazepam on the top."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.config import Settings
from app.normalize import build_record
from app.record import DoseConfidence, MedicationUse
from tests.normalize.builders import dosage, gathered, med_request
from tests.normalize.conftest import TODAY

pytestmark = pytest.mark.usefixtures("fake_terms")

OXYCODONE = {"text": "oxycodone 5 MG tablet"}
ALPRAZOLAM = {"code": "308047", "display": "alprazolam 0.25 MG Oral Tablet"}


def one(settings: Settings, med: dict, *, draft: bool = False) -> MedicationUse:
    g = gathered(drafts=[med]) if draft else gathered(meds=[med])
    rec = build_record(g, today=TODAY, settings=settings)
    assert rec.skipped == {} and len(rec.medications) == 1
    return rec.medications[0]


def test_exact_split_dose(settings: Settings) -> None:
    use = one(
        settings,
        med_request(
            **ALPRAZOLAM, dosages=[dosage(text="1 tablet every morning and 2 tablets at bedtime")]
        ),
    )
    assert (use.daily_dose_mg, use.dose_confidence, use.exact_dose_mg) == (
        1.5,
        DoseConfidence.EXACT,
        1.5,
    )
    assert use.diazepam_eq_mg_per_day == pytest.approx(30.0)  # 1.5 / 0.5 x 10 (fake table)
    assert not use.as_needed and use.daily_dose_low_mg is None


def test_range_keeps_both_ends_and_mme_uses_the_top(settings: Settings) -> None:
    use = one(
        settings, med_request(**OXYCODONE, dosages=[dosage(text="1-2 tablets every 4-6 hours")])
    )
    assert (use.daily_dose_mg, use.daily_dose_low_mg, use.dose_confidence) == (
        60.0,
        20.0,
        DoseConfidence.RANGE,
    )
    assert use.exact_dose_mg is None
    assert use.mme_per_day == pytest.approx(90.0)  # 60 mg x 1.5, the upper bound


def test_as_needed_maximum(settings: Settings) -> None:
    use = one(
        settings,
        med_request(
            **OXYCODONE,
            dosages=[
                dosage(
                    value=1,
                    unit="tablet",
                    frequency=1,
                    period=6,
                    period_unit="h",
                    as_needed=True,
                    max_per_day=3,
                )
            ],
        ),
    )
    assert (use.daily_dose_mg, use.dose_confidence, use.as_needed) == (
        15.0,
        DoseConfidence.AS_NEEDED_MAX,
        True,
    )
    assert use.exact_dose_mg is None and use.mme_per_day == pytest.approx(22.5)


def test_unknown_dose_keeps_the_order_and_its_prn_flag(settings: Settings) -> None:
    use = one(
        settings,
        med_request(**ALPRAZOLAM, dosages=[{"asNeededBoolean": True, "text": "Take as needed."}]),
    )
    assert (use.daily_dose_mg, use.dose_confidence, use.as_needed) == (
        None,
        DoseConfidence.UNKNOWN,
        True,
    )
    assert use.diazepam_eq_mg_per_day is None and use.dose_text == "Take as needed."


def _taper() -> list[dict]:
    return [
        dosage(sequence=1, value=1, unit="mg", frequency=2, period=1, bounds_days=14),
        dosage(sequence=2, value=0.5, unit="mg", frequency=2, period=1, bounds_days=14),
    ]


def test_taper_phase_is_counted_from_the_order_start(settings: Settings) -> None:
    started = (TODAY - timedelta(days=20)).isoformat()
    use = one(settings, med_request(**ALPRAZOLAM, authored=started, dosages=_taper()))
    assert (use.daily_dose_mg, use.dose_confidence) == (1.0, DoseConfidence.EXACT)


def test_draft_taper_starts_today_with_its_first_phase(settings: Settings) -> None:
    use = one(
        settings,
        med_request(**ALPRAZOLAM, status="draft", authored=None, dosages=_taper()),
        draft=True,
    )
    assert (use.daily_dose_mg, use.dose_confidence) == (2.0, DoseConfidence.EXACT)


def test_malformed_dose_fields_leave_the_order_in_the_record(settings: Settings) -> None:
    bad = med_request(
        **ALPRAZOLAM,
        dosages=[
            {
                "text": "0.5 mg three times daily",
                "doseAndRate": [{"doseQuantity": {"value": "one"}}],
                "maxDosePerPeriod": "4 a day",
            }
        ],
    )
    rec = build_record(gathered(meds=[bad]), today=TODAY, settings=settings)
    assert rec.skipped == {"MedicationRequest: dose unreadable": 1}
    (use,) = rec.medications
    assert (use.ingredient, use.dose_confidence, use.dose_unreadable) == (
        "alprazolam",
        DoseConfidence.UNKNOWN,
        True,
    )
