"""Table tests for the taper engine on specific drugs: ER, ODT, unscored products, tiny doses."""

from __future__ import annotations

import math
from datetime import date
from fractions import Fraction

import pytest

from app.taper import (
    LIQUID,
    Form,
    Pace,
    StepKind,
    TaperPlan,
    TaperRequest,
    Unplanned,
    form_of,
    how_text,
    plan_taper,
    step_text,
)
from app.taper.products import product

START = date(2025, 6, 2)


def plan(ingredient: str, dose: float, form: Form | None = None, **kw: object) -> TaperPlan:
    found = plan_taper(TaperRequest(ingredient, dose, START, form=form, **kw))  # type: ignore[arg-type]
    assert isinstance(found, TaperPlan), found
    return found


def doses(p: TaperPlan) -> list[float]:
    return [float(s.dose_mg) for s in p.steps]


def weeks(p: TaperPlan) -> list[int]:
    return [s.held_days // 7 for s in p.steps]


# (ingredient, mg/day, form, expected daily doses, expected weeks held before each step)
TABLE = [
    # Alprazolam 0.25 mg tablets are scored: 0.125 mg steps; tail waits 3, 4 and 8 weeks.
    (
        "alprazolam",
        1.0,
        Form.TABLET,
        [0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0],
        [2, 2, 2, 2, 2, 3, 4, 8],
    ),
    # Zolpidem tablets are not scored (label): 5 mg, never 2.5 mg.
    ("zolpidem", 10.0, Form.TABLET, [5.0, 0], [4, 8]),
    # Zolpidem ER is never split and has no labelled IR equivalent: its own 6.25 mg strength.
    ("zolpidem", 12.5, Form.ER_TABLET, [6.25, 0], [4, 8]),
    # Clonazepam ODT is never split: 0.125 mg ODT is the smallest unit (old code: 0.0625 mg).
    ("clonazepam", 0.25, Form.ODT, [0.125, 0], [4, 8]),
    # Clonazepam 0.5 mg tablets are scored; 1 and 2 mg are not reliably (generics differ).
    ("clonazepam", 0.5, Form.TABLET, [0.25, 0], [4, 8]),
    # Lorazepam 0.5 mg tablets are unscored: 0.5 mg units (old code: 0.25 mg halves).
    ("lorazepam", 1.0, Form.TABLET, [0.5, 0], [4, 8]),
    # Eszopiclone is film-coated and unscored: whole 1 mg tablets.
    ("eszopiclone", 3.0, Form.TABLET, [2.0, 1.0, 0], [3, 4, 8]),
    # Temazepam capsules: 7.5 mg units.
    ("temazepam", 30.0, Form.CAPSULE, [22.5, 15.0, 7.5, 0], [2, 3, 4, 8]),
    # A dose below the smallest unit: held, then stopped (no invented smaller dose).
    ("alprazolam", 0.1, Form.TABLET, [0], [8]),
    # Oxazepam 15 mg capsule a day, 10 mg the smallest capsule: 10 mg, then stop.
    ("oxazepam", 15.0, Form.CAPSULE, [10.0, 0], [3, 8]),
]


@pytest.mark.parametrize(
    ("ingredient", "dose", "form", "expected", "held"),
    TABLE,
    ids=[f"{t[0]}-{t[1]}-{t[2]}" for t in TABLE],
)
def test_schedule_table(
    ingredient: str, dose: float, form: Form, expected: list[float], held: list[int]
) -> None:
    p = plan(ingredient, dose, form)
    assert doses(p) == expected
    assert weeks(p) == held
    assert p.steps[-1].kind is StepKind.STOP


def test_alprazolam_twice_daily_says_how_to_take_it() -> None:
    # One strength (scored 0.25 mg tablets) makes every dose: one product for the pharmacy;
    # the larger half of an uneven split goes to bedtime.
    p = plan("alprazolam", 1.0, Form.TABLET, strength_mg=0.5, times=("morning", "bedtime"))
    texts = [how_text(s.how, s.form) for s in p.steps]
    assert texts[0] == "1½ tablets of 0.25 mg in the morning, 2 tablets of 0.25 mg at bedtime"
    assert texts[4] == "½ of a 0.25 mg tablet in the morning, 1 tablet of 0.25 mg at bedtime"
    assert texts[6] == "½ of a 0.25 mg tablet a day"
    assert step_text(p.steps[0], "2025-06-02") == (
        "2025-06-02: 0.875 mg/day of alprazolam (-12.5%): 1½ tablets of 0.25 mg in the "
        "morning, 2 tablets of 0.25 mg at bedtime"
    )
    assert step_text(p.steps[-1], "2025-11-10") == (
        "2025-11-10: stop alprazolam after 8 weeks on 0.125 mg/day"
    )
    assert p.ends == date(2025, 11, 10)


def test_pace_is_stated_as_computed() -> None:
    p = plan("alprazolam", 2.0, Form.TABLET)
    assert p.pace.text == (
        "about 10% of the starting dose every 2 weeks, never more than 25% "
        "of the current dose in 2 weeks; the last 3 steps every 3-8 weeks"
    )
    slower = plan("alprazolam", 2.0, Form.TABLET, pace=Pace.SLOWER)
    assert slower.pace.text == (
        "about 9% of the starting dose every 4 weeks, never more than "
        "25% of the current dose in 2 weeks; the last step every 8 weeks"
    )
    assert slower.ends is not None and p.ends is not None and slower.ends > p.ends
    tiny = plan("zolpidem", 10.0, Form.TABLET)
    assert tiny.pace.text == (
        "one dispensable unit at a time, never more than 25% of the "
        "current dose in 2 weeks; steps every 4-8 weeks"
    )


def test_alprazolam_xr_switches_to_immediate_release_at_the_same_dose() -> None:
    p = plan("alprazolam", 3.0, Form.ER_TABLET)
    first = p.steps[0]
    assert first.kind is StepKind.SWITCH and first.form is Form.TABLET
    assert first.dose_mg == 3 and first.starts == START
    assert p.steps[1].starts == date(2025, 6, 16)  # held 2 weeks after the switch
    assert p.switch is not None and "same total daily dose" in p.switch.why
    assert all(s.form in (Form.TABLET, None) for s in p.steps)


def test_loreev_xr_switches_to_lorazepam_tablets() -> None:
    p = plan("lorazepam", 3.0, form_of("24 HR lorazepam 3 MG Extended Release Oral Capsule"))
    assert p.steps[0].kind is StepKind.SWITCH and p.steps[0].form is Form.TABLET
    assert doses(p)[:2] == [3.0, 2.5]


def test_hold_and_pause_shift_later_steps_only() -> None:
    base = plan("diazepam", 10.0, Form.TABLET)
    held = plan("diazepam", 10.0, Form.TABLET, extra_weeks={1: 2, 3: 12})
    assert doses(held) == doses(base)
    shift = [(h.starts - b.starts).days // 7 for h, b in zip(held.steps, base.steps, strict=True)]
    assert shift[:3] == [0, 0, 2] and shift[4] == 14


def test_long_acting_switch_alprazolam_to_diazepam() -> None:
    p = plan("alprazolam", 2.0, Form.TABLET, switch_to="diazepam")
    assert p.switch is not None
    assert p.switch.to_mg == 20 and p.switch.range_mg == (Fraction(20), Fraction(40))
    assert "approximate" in p.switch.why and "20-40 mg of diazepam" in p.switch.why
    assert p.steps[0].kind is StepKind.SWITCH and p.ingredient == "diazepam"
    assert doses(p)[1] == 18.0 and p.steps[1].starts == date(2025, 6, 16)


def test_long_acting_switch_rounds_to_dispensable_units() -> None:
    # Triazolam 0.125 mg ~ 5 mg diazepam (VA/DoD); lorazepam 0.5 mg ~ 2.5 -> 2 mg (1 mg units,
    # halves round down); to clonazepam: 0.25 mg units.
    assert plan("triazolam", 0.125, switch_to="diazepam").steps[0].dose_mg == 5
    assert plan("lorazepam", 0.5, switch_to="diazepam").steps[0].dose_mg == 2
    assert plan("lorazepam", 3.0, switch_to="clonazepam").steps[0].dose_mg == Fraction(3, 2)


@pytest.mark.parametrize(
    ("ingredient", "target"),
    [
        ("zolpidem", "diazepam"),
        ("clonazepam", "diazepam"),
        ("alprazolam", "chlordiazepoxide"),
        ("eszopiclone", "diazepam"),
    ],
)
def test_no_switch_where_rec_7_does_not_apply(ingredient: str, target: str) -> None:
    result = plan_taper(TaperRequest(ingredient, 2.0, START, switch_to=target))
    assert isinstance(result, Unplanned) and "rec. 7" in result.reason


@pytest.mark.parametrize("dose", [0, -1, math.nan, math.inf, 1e308, 5000])
def test_no_numbers_without_a_real_dose(dose: float) -> None:
    result = plan_taper(TaperRequest("alprazolam", dose, START))
    assert isinstance(result, Unplanned) and "confirm" in result.reason


@pytest.mark.parametrize(
    ("ingredient", "words"),
    [
        ("xyzepam", "No marketed product data"),
        ("bromazepam", "no US label"),
        ("midazolam", "no US oral solid"),
    ],
)
def test_no_numbers_without_marketed_products(ingredient: str, words: str) -> None:
    result = plan_taper(TaperRequest(ingredient, 1.0, START))
    assert isinstance(result, Unplanned) and words in result.reason


def test_unmarketed_form_falls_back_with_a_note() -> None:
    p = plan("temazepam", 15.0, Form.TABLET)
    assert p.steps[0].form is Form.CAPSULE
    assert any("No US-marketed tablet of temazepam" in n for n in p.notes)


FORMS = [
    ("alprazolam 0.25 MG Oral Tablet", Form.TABLET),
    ("24 HR alprazolam 3 MG Extended Release Oral Tablet [Xanax]", Form.ER_TABLET),
    ("Xanax XR 1 mg tab", Form.ER_TABLET),
    ("clonazepam 0.125 MG Disintegrating Oral Tablet", Form.ODT),
    ("Klonopin wafers 0.25 mg", Form.ODT),
    ("24 HR lorazepam 1 MG Extended Release Oral Capsule [Loreev]", Form.ER_CAPSULE),
    ("temazepam 15 MG Oral Capsule", Form.CAPSULE),
    ("zolpidem tartrate 5 MG Sublingual Tablet [Edluar]", Form.SL_TABLET),
    ("clobazam 10 MG Oral Film", Form.FILM),
    ("lorazepam 2 MG/ML Oral Solution", LIQUID),
    ("Ativan", None),
]


@pytest.mark.parametrize(("text", "form"), FORMS, ids=[f[0] for f in FORMS])
def test_form_of_order_text(text: str, form: Form | str | None) -> None:
    assert form_of(text) == form


@pytest.mark.parametrize(
    ("ingredient", "dose"),
    [("diazepam", 60.0), ("diazepam", 80.0), ("alprazolam", 10.0), ("lorazepam", 12.0)],
)
def test_high_doses_use_the_fewest_pieces_not_one_small_strength(
    ingredient: str, dose: float
) -> None:
    # When no set of strengths keeps a dose under the daily piece cap, the plan minimizes
    # pieces: 54 mg of diazepam is 5 x 10 mg + 2 x 2 mg (7 pieces), never 27 x 2 mg.
    p = plan(ingredient, dose, Form.TABLET)
    found = product(ingredient, Form.TABLET)
    assert found is not None
    largest = max(s.mg for s in found.strengths)
    for step in p.steps:
        pieces = sum(count for admin in step.how for _, count in admin.pieces)
        # Never more than the largest strength's whole tablets plus a small remainder.
        assert pieces <= math.ceil(step.dose_mg / largest) + 3, step_text(step, "")
