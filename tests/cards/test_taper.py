"""The card's taper schedule: engine steps with real tablets, the computed pace."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from app.cards.taper import build_schedule, careplan, schedule_summary
from app.record import DoseConfidence
from tests.cards.builders import TODAY, med, record, settings


def _pace_ok(schedule, start_dose: float) -> None:
    previous, previous_date = start_dose, TODAY - timedelta(days=14)
    for step in schedule.steps:
        if step.switch:
            previous, previous_date = step.dose_mg, step.starts
            continue
        assert step.dose_mg < previous
        units = step.dose_mg / schedule.unit_mg
        assert abs(units - round(units)) < 1e-9
        weeks2 = (step.starts - previous_date).days / 14
        assert (previous - step.dose_mg) / previous <= 0.25 * weeks2 + 1e-9
        previous, previous_date = step.dose_mg, step.starts


ORDERS = [
    ("alprazolam", "alprazolam 0.5 MG Oral Tablet", 1.5, 0.125),
    ("alprazolam", "24 HR alprazolam 1 MG Extended Release Oral Tablet", 2.0, 0.125),
    ("clonazepam", "clonazepam 0.125 MG Disintegrating Oral Tablet", 0.5, 0.125),
    ("temazepam", "temazepam 15 MG Oral Capsule", 30.0, 7.5),
    ("zolpidem", "zolpidem tartrate 10 MG Oral Tablet", 10.0, 5.0),
    ("lorazepam", "lorazepam 1 MG Oral Tablet", 2.0, 0.5),
    ("diazepam", "diazepam 5 MG Oral Tablet", 15.0, 1.0),
]


@pytest.mark.parametrize(("ingredient", "name", "dose", "unit"), ORDERS, ids=[o[1] for o in ORDERS])
def test_schedule_on_dispensable_units(
    ingredient: str, name: str, dose: float, unit: float
) -> None:
    m = med(ingredient, daily=dose, name=name)
    schedule = build_schedule(m, TODAY, settings())
    assert schedule.unit_mg == unit
    _pace_ok(schedule, dose)
    assert schedule.steps[-1].dose_mg == 0 and schedule.ends is not None
    assert schedule.steps[-2].dose_mg == unit
    assert schedule.instructions[0].startswith("Pace: ")
    careplan(record(meds=[m]), schedule)  # validates as an R4B CarePlan


def test_capsules_are_not_split_and_large_steps_wait() -> None:
    m = med("temazepam", daily=15, name="temazepam 15 MG Oral Capsule")
    schedule = build_schedule(m, TODAY, settings())
    assert [s.dose_mg for s in schedule.steps] == [7.5, 0]
    # 50% first step: 4 weeks at today's dose (2 of them already taken); stopping: 8 weeks.
    assert [s.starts for s in schedule.steps] == [date(2025, 6, 16), date(2025, 8, 11)]
    text = schedule_summary(schedule)
    # The card: first step, pace exactly as computed, end; every step (and the follow-up
    # visit) in the CarePlan.
    assert text.split("\n") == [
        "- First step 2025-06-16: 7.5 mg/day of temazepam (-50%): 1 capsule of 7.5 mg a day",
        "- Pace: one dispensable unit at a time, never more than 25% of the current dose in 2 "
        "weeks; steps every 4-8 weeks",
        "- Ends 2025-08-11",
    ]
    assert (
        "Pace: one dispensable unit at a time, never more than 25% of the current dose in 2 "
        "weeks; steps every 4-8 weeks (ASAM 2025 rec. 6)."
    ) in schedule.instructions


def test_dose_below_one_unit_is_not_stopped_today() -> None:
    schedule = build_schedule(med("alprazolam", daily=0.1), TODAY, settings())
    [step] = schedule.steps
    assert step.dose_mg == 0 and step.starts == TODAY + timedelta(days=42)


def test_unknown_drug_gives_instructions_only() -> None:
    unknown = replace(
        med("alprazolam", daily=1, strength=1.0), ingredient="xyzepam", name="xyzepam 1 MG tablet"
    )
    schedule = build_schedule(unknown, TODAY, settings())
    assert schedule.steps == () and schedule.unit_mg is None
    assert "No marketed product data for xyzepam" in schedule.instructions[0]
    assert "5-10% of the daily dose every 2-4 weeks" in schedule.instructions[1]


def test_oral_liquid_gets_no_tablet_numbers() -> None:
    m = med("lorazepam", daily=2, name="lorazepam 2 MG/ML Oral Solution")
    schedule = build_schedule(m, TODAY, settings())
    assert schedule.steps == ()
    assert "oral liquid: measure each step in mL" in schedule.instructions[0]


def test_long_acting_switch_schedule_and_careplan() -> None:
    m = med("alprazolam", daily=2, name="alprazolam 1 MG Oral Tablet")
    schedule = build_schedule(m, TODAY, settings(), switch_to="diazepam")
    assert schedule.switch_to == "diazepam"
    first = schedule.steps[0]
    assert first.switch and first.dose_mg == 20 and first.reduction_pct == 0
    assert first.text.startswith("2025-06-02: switch to 20 mg/day of diazepam: ")
    assert any("20-40 mg of diazepam" in text for text in schedule.instructions)
    plan = careplan(record(meds=[m]), schedule)
    assert plan is not None and plan["title"] == "Switch alprazolam to diazepam, then taper"
    products = [
        a["detail"]["productCodeableConcept"]["text"]
        for a in plan["activity"]
        if "productCodeableConcept" in a["detail"]
    ]
    assert products[0] == "diazepam oral tablet"


def test_summary_without_an_exact_dose_says_what_to_confirm() -> None:
    prn = med(
        "alprazolam",
        daily=1.5,
        confidence=DoseConfidence.AS_NEEDED_MAX,
        dose_text="0.5 mg up to three times daily as needed",
    )
    text = schedule_summary(build_schedule(prn, TODAY, settings()))
    assert text.split("\n") == [
        "- No exact daily dose, so no schedule: confirm the total daily dose first (the "
        "CarePlan starts there).",
        "- Then reduce by 5-10% of the daily dose every 2-4 weeks, never more than 25% in any "
        "2 weeks.",
        "- Follow-up by 2025-06-30.",
    ]


def test_non_finite_dose_gives_instructions_not_numbers() -> None:
    # Defense behind the dose reader: Fraction('inf') used to raise from here (issue 12).
    for daily in (float("inf"), float("nan")):
        schedule = build_schedule(med("alprazolam", daily=daily), TODAY, settings())
        assert schedule.steps == () and schedule.daily_dose_mg is None
        assert "Confirm today's total daily dose" in schedule.instructions[0]
