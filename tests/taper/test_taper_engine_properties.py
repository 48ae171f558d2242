"""Issue #11 item 1: every schedule obeys its own guideline, for every marketed product.

Enumerated exhaustively (the space is small): every benzodiazepine and Z-drug with a US product,
every form, every marketed strength, 1-8 units a day, both paces. Hypothesis adds random holds,
pauses and administration times on top.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from app.taper import (
    Form,
    Pace,
    Step,
    StepKind,
    TaperPlan,
    TaperRequest,
    Unplanned,
    plan_taper,
    products,
)
from app.taper.constants import (
    CREDITED_WEEKS,
    FIRST_REDUCTION_MAX,
    FIRST_REDUCTION_MIN,
    MAX_REDUCTION,
    MAX_REDUCTION_WEEKS,
)
from app.taper.model import Product
from app.taper.tablets import smallest_unit
from app.terminology._data import _read

START = date(2025, 6, 2)
PRODUCTS = [p for d in products.marketed() for p in d.products]


def _allowed_pieces(prod: Product) -> set[tuple[Fraction, int]]:
    never_split = prod.form is not Form.TABLET
    return {
        (s.mg, parts)
        for s in prod.strengths
        for parts in (1, 2, 4)
        if parts <= (1 if never_split else s.parts)
    }


def check_plan(plan: TaperPlan, start_mg: Fraction) -> None:
    """The constraints of issue #11 item 1, as assertions on one computed plan."""
    steps = list(plan.steps)
    assert steps and steps[-1].kind is StepKind.STOP and steps[-1].dose_mg == 0
    switched = steps[0].kind is StepKind.SWITCH
    reductions = [s for s in steps if s.kind is not StepKind.SWITCH]
    form = next((s.form for s in steps if s.form), None) or plan.request.form
    prod = (
        products.product(plan.ingredient, form)
        if form
        else products.default_product(plan.ingredient)
    )
    assert prod is not None
    unit = smallest_unit(prod)
    begin = steps[0].dose_mg if switched else start_mg
    previous_day = steps[0].starts if switched else None
    for index, step in enumerate(reductions):
        share = step.reduction
        assert 0 < share <= 1
        # Pace: no more than 25% of the current dose per 2 weeks, pro rata, including the tail.
        assert share <= MAX_REDUCTION * Fraction(step.held_days, 7 * MAX_REDUCTION_WEEKS)
        if previous_day is not None:
            assert (step.starts - previous_day).days == step.held_days
            assert step.held_days >= 7 * MAX_REDUCTION_WEEKS  # one step per 2 weeks at most
        else:
            assert step.held_days == (step.starts - START).days + 7 * CREDITED_WEEKS
        if share > MAX_REDUCTION:
            # The interval lengthened; the step did not grow beyond one unit.
            assert step.previous_mg - step.dose_mg <= unit
        previous_day = step.starts
        if step.kind is StepKind.REDUCE:
            assert (step.dose_mg / unit).denominator == 1  # whole multiples of the unit
            assert sum(a.mg for a in step.how) == step.dose_mg
            for admin in step.how:
                assert sum(p.mg * c for p, c in admin.pieces) == admin.mg
                assert {(p.strength_mg, p.parts) for p, _ in admin.pieces} <= _allowed_pieces(prod)
        if index == 0:
            if unit <= MAX_REDUCTION * begin:
                assert FIRST_REDUCTION_MIN <= share <= FIRST_REDUCTION_MAX
                assert step.starts == (steps[0].starts + timedelta(weeks=2) if switched else START)
            else:
                assert step.previous_mg - step.dose_mg <= unit
    last = reductions[-2] if len(reductions) > 1 else None
    held_before_stop = reductions[-1].held_days
    assert (last.dose_mg if last else begin) == unit or begin < unit
    assert held_before_stop >= 14
    assert "never more than 25% of the current dose in 2 weeks" in plan.pace.text


def _cases(prod: Product) -> list[tuple[Fraction, int]]:
    return [(s.mg * n, n) for s in prod.strengths for n in range(1, 9)]


@pytest.mark.parametrize("prod", PRODUCTS, ids=[f"{p.ingredient}-{p.form}" for p in PRODUCTS])
def test_every_strength_and_units_a_day(prod: Product) -> None:
    for dose, _ in _cases(prod):
        for pace in Pace:
            plan = plan_taper(TaperRequest(prod.ingredient, dose, START, form=prod.form, pace=pace))
            assert isinstance(plan, TaperPlan), (prod, dose, plan)
            if prod.form.extended_release and plan.switch is not None:
                assert plan.steps[0].kind is StepKind.SWITCH
                assert plan.steps[0].dose_mg == dose  # same total daily dose (label)
                assert plan.steps[0].form is prod.ir_switch
            check_plan(plan, dose)


@pytest.mark.parametrize(
    "prod",
    [
        p
        for p in PRODUCTS
        if products.drug(p.ingredient) and products.drug(p.ingredient).long_acting_switch
    ],
    ids=lambda p: f"{p.ingredient}-{p.form}",
)
def test_long_acting_switch_obeys_the_same_rules(prod: Product) -> None:
    for dose, _ in _cases(prod):
        for target in ("diazepam", "clonazepam"):
            plan = plan_taper(
                TaperRequest(prod.ingredient, dose, START, form=prod.form, switch_to=target)
            )
            assert isinstance(plan, TaperPlan)
            assert plan.ingredient == target and plan.switch is not None
            switch = plan.steps[0]
            assert switch.kind is StepKind.SWITCH and switch.previous_mg == dose
            target_unit = smallest_unit(products.default_product(target))
            assert (switch.dose_mg / target_unit).denominator == 1 and switch.dose_mg > 0
            check_plan(plan, switch.dose_mg)


def test_every_bzra_in_the_terminology_has_products_or_a_reason() -> None:
    ingredients = _read("ingredients.json")["ingredients"]
    bzras = {i for i, e in ingredients.items() if e["class"] in ("benzodiazepine", "z-drug")}
    marketed = {d.ingredient for d in products.marketed()}
    assert bzras == marketed | set(products.not_marketed_ingredients())
    for ingredient in products.not_marketed_ingredients():
        result = plan_taper(TaperRequest(ingredient, 1.0, START))
        assert isinstance(result, Unplanned) and "marketed" in result.reason


def _valid(steps: tuple[Step, ...]) -> bool:
    return all(s.held_days >= 14 for s in steps if s.kind is not StepKind.SWITCH)


@given(
    prod=st.sampled_from(PRODUCTS),
    units=st.integers(1, 8),
    data=st.data(),
    times=st.sampled_from(
        [(), ("bedtime",), ("morning", "bedtime"), ("morning", "noon", "bedtime")]
    ),
)
@hyp_settings(max_examples=60, deadline=None)
def test_holds_pauses_and_times_keep_the_rules(
    prod: Product, units: int, data: st.DataObject, times: tuple[str, ...]
) -> None:
    strength = data.draw(st.sampled_from(prod.strengths))
    extra = data.draw(st.dictionaries(st.integers(0, 12), st.sampled_from([2, 4, 12]), max_size=3))
    dose = strength.mg * units
    plan = plan_taper(
        TaperRequest(prod.ingredient, dose, START, form=prod.form, times=times, extra_weeks=extra)
    )
    assert isinstance(plan, TaperPlan)
    check_plan(plan, dose)
    base = plan_taper(TaperRequest(prod.ingredient, dose, START, form=prod.form, times=times))
    assert isinstance(base, TaperPlan)
    # Holds only lengthen: same doses, never an earlier date.
    assert [s.dose_mg for s in plan.steps] == [s.dose_mg for s in base.steps]
    assert all(a.starts >= b.starts for a, b in zip(plan.steps, base.steps, strict=True))
    assert _valid(plan.steps)
