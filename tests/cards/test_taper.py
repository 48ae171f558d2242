"""The taper schedule: rounding to real strengths, pace limits, and no invented numbers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from app.cards.taper import build_schedule, careplan, diazepam_range, schedule_markdown
from app.terminology import oral_strengths
from tests.cards.builders import TODAY, med, record, settings


def _pace_ok(schedule, start_dose: float) -> None:
    previous, previous_date = start_dose, TODAY - timedelta(days=14)
    for step in schedule.steps:
        assert step.dose_mg < previous
        units = step.dose_mg / schedule.unit_mg
        assert abs(units - round(units)) < 1e-9
        weeks2 = (step.starts - previous_date).days / 14
        assert (previous - step.dose_mg) / previous <= 0.25 * weeks2 + 1e-9
        previous, previous_date = step.dose_mg, step.starts


@given(ingredient=st.sampled_from(["alprazolam", "lorazepam", "clonazepam", "diazepam",
                                   "temazepam", "zolpidem", "eszopiclone"]),
       tablets=st.integers(min_value=1, max_value=60), capsule=st.booleans())
@hyp_settings(max_examples=150, deadline=None)
def test_schedule_properties(ingredient: str, tablets: int, capsule: bool) -> None:
    smallest = min(oral_strengths(ingredient))
    dose = smallest * tablets / 2
    form = "Oral Capsule" if capsule else "Oral Tablet"
    m = med(ingredient, daily=dose, name=f"{ingredient} {smallest} MG {form}")
    schedule = build_schedule(m, TODAY, settings())
    assert schedule.unit_mg == (smallest if capsule else smallest / 2)
    _pace_ok(schedule, dose)
    assert schedule.steps[0].starts >= TODAY
    if schedule.steps[-1].dose_mg != 0:
        assert any("keep going" in text for text in schedule.instructions)
    careplan(record(meds=[m]), schedule)  # validates as an R4B CarePlan


def test_capsules_are_not_split_and_large_steps_wait() -> None:
    m = med("temazepam", daily=15, name="temazepam 15 MG Oral Capsule")
    schedule = build_schedule(m, TODAY, settings())
    assert [s.dose_mg for s in schedule.steps] == [7.5, 0]
    # 50% first step: 2 more weeks at today's dose; stopping: 8 weeks on the lowest dose.
    assert [s.starts for s in schedule.steps] == [date(2025, 6, 16), date(2025, 8, 11)]
    assert "stop temazepam after 8 weeks on the lowest dose" in schedule_markdown(schedule)


def test_dose_below_one_unit_is_not_stopped_today() -> None:
    schedule = build_schedule(med("alprazolam", daily=0.1), TODAY, settings())
    [step] = schedule.steps
    assert step.dose_mg == 0 and step.starts == TODAY + timedelta(days=42)


def test_unknown_strengths_give_instructions_only() -> None:
    unknown = replace(med("alprazolam", daily=1), ingredient="xyzepam", name="xyzepam tablet")
    schedule = build_schedule(unknown, TODAY, settings())
    assert schedule.steps == ()
    assert "strengths of xyzepam are not known" in schedule.instructions[0]


def test_ordered_strength_is_used_when_terminology_has_none() -> None:
    unknown = replace(med("alprazolam", daily=2, strength=1.0), ingredient="xyzepam",
                      name="xyzepam 1 MG tablet")
    schedule = build_schedule(unknown, TODAY, settings())
    assert schedule.unit_mg == 0.5
    assert schedule.steps[-1].dose_mg == 0


def test_diazepam_equivalent_is_a_range_of_the_table_columns() -> None:
    # ASAM 2025 table: alprazolam 1 mg ~ 10 mg diazepam (VA/DoD) or 0.5 mg (Ashton).
    assert diazepam_range(med("alprazolam", daily=1)) == (10.0, 20.0)
    text = schedule_markdown(build_schedule(med("alprazolam", daily=1), TODAY, settings()))
    assert "Approximately 10-20 mg/day diazepam-equivalent (low dose band" in text
    assert diazepam_range(med("alprazolam")) is None
