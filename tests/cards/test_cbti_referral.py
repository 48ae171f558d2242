"""CBT-I referral for insomnia treated with a BZRA (ACP 2016; AASM 2021)."""

from __future__ import annotations

import pytest

from app.cards import cbti_referral
from app.record import PlanKind
from tests.cards.builders import C, check_card, cond, med, plan, record, resources, settings

RULE = cbti_referral.RULE_ID
INSOMNIA = cond(C.INSOMNIA, name="Insomnia", codes=("http://snomed.info/sct|193462001",))
ZOL = med("zolpidem", daily=10)

CASES = [
    ("insomnia + z-drug", [ZOL], [INSOMNIA], [], 45, True),
    ("insomnia + benzo", [med("temazepam")], [INSOMNIA], [], 45, True),
    ("reason on the order only", [med("zolpidem", reasons=(C.INSOMNIA,))], [], [], 45, True),
    ("insomnia, no BZRA", [med("oxycodone")], [INSOMNIA], [], 45, False),
    ("BZRA for anxiety, no insomnia", [med("lorazepam", reasons=(C.ANXIETY,))], [], [], 45, False),
    ("resolved insomnia", [ZOL], [cond(C.INSOMNIA, active=False)], [], 45, False),
    ("stopped BZRA", [med("zolpidem", active=False)], [INSOMNIA], [], 45, False),
    ("referral already on record", [ZOL], [INSOMNIA], [plan(PlanKind.CBTI_REFERRAL)], 45, False),
    (
        "completed referral counts",
        [ZOL],
        [INSOMNIA],
        [plan(PlanKind.CBTI_REFERRAL, active=False)],
        45,
        False,
    ),
    ("other plan does not count", [ZOL], [INSOMNIA], [plan(PlanKind.TAPER_PLAN)], 45, True),
    ("child", [ZOL], [INSOMNIA], [], 17, False),
    ("age unknown", [ZOL], [INSOMNIA], [], None, True),
    ("no dose", [med("zolpidem")], [INSOMNIA], [], 45, True),
]


@pytest.mark.parametrize(
    ("label", "meds", "conditions", "plans", "age", "fires"), CASES, ids=[c[0] for c in CASES]
)
def test_table(
    label: str, meds: list, conditions: list, plans: list, age: int | None, fires: bool
) -> None:
    rec = record(age=age, meds=meds, conditions=conditions, plans=plans)
    cards = cbti_referral.evaluate(rec, settings())
    assert len(cards) == int(fires)
    for card in cards:
        check_card(card, RULE)
        assert card.indicator == "info"
        assert "CBT-I" in card.summary
        [referral] = resources(card, "ServiceRequest")
        assert referral["intent"] == "order"
        assert referral["reasonCode"]


def test_referral_resource() -> None:
    card = cbti_referral.evaluate(record(meds=[ZOL], conditions=[INSOMNIA]), settings())[0]
    [referral] = resources(card, "ServiceRequest")
    assert referral["status"] == "draft"
    assert referral["code"]["coding"][0]["code"]
    assert referral["reasonCode"][0]["coding"] == [
        {"system": "http://snomed.info/sct", "code": "193462001"}
    ]
    assert referral["reasonReference"] == [{"reference": "Condition/insomnia"}]
    assert card.selectionBehavior == "at-most-one"
    assert "zolpidem" in card.summary


def test_reason_from_order_has_text_reason() -> None:
    card = cbti_referral.evaluate(
        record(meds=[med("zolpidem", reasons=(C.INSOMNIA,))]), settings()
    )[0]
    [referral] = resources(card, "ServiceRequest")
    assert referral["reasonCode"] == [{"text": "Insomnia"}]


FOCUS = [
    ("select: selected draft", "order-select", [med("zolpidem", draft=True, selected=True)], True),
    ("select: unselected draft", "order-select", [med("zolpidem", draft=True)], False),
    ("select: chart BZRA only", "order-select", [ZOL], False),
    ("sign: draft", "order-sign", [med("zolpidem", draft=True)], True),
    ("view: chart", "patient-view", [ZOL], True),
]


@pytest.mark.parametrize(("label", "hook", "meds", "fires"), FOCUS, ids=[f[0] for f in FOCUS])
def test_focus_per_hook(label: str, hook: str, meds: list, fires: bool) -> None:
    rec = record(meds=meds, conditions=[INSOMNIA], hook=hook)
    assert len(cbti_referral.evaluate(rec, settings())) == int(fires)


def test_deterministic_uuid() -> None:
    rec = record(meds=[ZOL], conditions=[INSOMNIA])
    a, b = cbti_referral.evaluate(rec, settings()), cbti_referral.evaluate(rec, settings())
    assert a == b
