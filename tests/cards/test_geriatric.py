"""BZRA in adults aged 65 or older (AGS Beers 2023)."""

from __future__ import annotations

import pytest

from app.cards import geriatric, taper_plan
from app.record import PlanKind
from tests.cards.builders import C, check_card, cond, med, plan, record, resources, settings

RULE = geriatric.RULE_ID
LOR = med("lorazepam", daily=1, days_ago=200)

CASES = [
    ("age 65 benzo", 65, [LOR], [], "warning"),
    ("age 64", 64, [LOR], [], None),
    ("age unknown", None, [LOR], [], None),
    ("z-drug", 80, [med("zolpidem", daily=5)], [], "warning"),
    ("no BZRA", 80, [med("oxycodone")], [], None),
    ("stopped benzo", 80, [med("lorazepam", active=False)], [], None),
    ("falls", 70, [LOR], [cond(C.FALLS_FRACTURE)], "critical"),
    ("dementia", 70, [LOR], [cond(C.DEMENTIA_DELIRIUM)], "critical"),
    ("old fall, inactive", 70, [LOR], [cond(C.FALLS_FRACTURE, active=False)], "warning"),
    ("2 CNS-active drugs", 70, [LOR, med("oxycodone")], [], "warning"),
    ("3 CNS-active drugs", 70, [LOR, med("oxycodone"), med("gabapentin")], [], "critical"),
    (
        "3 orders, 2 drugs",
        70,
        [LOR, med("lorazepam", ref="MedicationRequest/l2"), med("oxycodone")],
        [],
        "warning",
    ),
    ("seizure disorder", 70, [LOR], [cond(C.SEIZURE)], "info"),
    ("REM sleep behaviour disorder", 70, [LOR], [cond(C.REM_SLEEP_BEHAVIOR)], "info"),
    ("withdrawal", 70, [LOR], [cond(C.WITHDRAWAL)], "info"),
    ("severe GAD", 70, [LOR], [cond(C.SEVERE_GAD)], "info"),
    # Beers 2023 does not apply in hospice or end-of-life care, nor to periprocedural
    # parenteral use: no card at all (issue #11).
    ("end of life", 70, [med("zolpidem")], [cond(C.END_OF_LIFE)], None),
    ("periprocedural injectable", 70, [med("midazolam", injectable=True)], [], None),
    (
        "injectable lorazepam is not periprocedural",
        70,
        [med("lorazepam", injectable=True)],
        [],
        "warning",
    ),
    ("ordered for seizures", 70, [med("clonazepam", reasons=(C.SEIZURE,))], [], "info"),
    (
        "seizure exception does not cover a Z-drug",
        70,
        [med("zolpidem")],
        [cond(C.SEIZURE)],
        "warning",
    ),
    ("exception + falls stays info", 70, [LOR], [cond(C.SEIZURE), cond(C.FALLS_FRACTURE)], "info"),
]


@pytest.mark.parametrize(
    ("label", "age", "meds", "conditions", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_table(
    label: str, age: int | None, meds: list, conditions: list, expected: str | None
) -> None:
    cards = geriatric.evaluate(record(age=age, meds=meds, conditions=conditions), settings())
    if expected is None:
        assert cards == []
        return
    [card] = cards
    check_card(card, RULE)
    assert card.indicator == expected
    assert f"Age {age}" in card.summary
    assert {link.url for link in card.links or ()} >= {
        "https://deprescribing.org/resources/deprescribing-guidelines-algorithms/"
    }
    if expected == "info":
        assert card.suggestions is None


ALONE = {"enabled_rules": [RULE]}  # geriatric card without the taper-plan card beside it


def test_warning_text_and_taper_suggestion() -> None:
    card = geriatric.evaluate(record(age=78, meds=[LOR]), settings(**ALONE))[0]
    assert "lorazepam" in card.summary
    for harm in ("falls", "fractures", "delirium", "cognitive impairment", "car crashes"):
        assert harm in card.detail
    [careplan] = resources(card, "CarePlan")
    assert careplan["title"] == "Gradual taper of lorazepam"
    assert card.selectionBehavior == "at-most-one"


def test_cns_count_named_and_threshold_is_setting() -> None:
    rec = record(age=70, meds=[LOR, med("oxycodone")])
    assert geriatric.evaluate(rec, settings())[0].indicator == "warning"
    card = geriatric.evaluate(rec, settings(cns_active_count_escalation=2))[0]
    assert card.indicator == "critical"
    assert "2 CNS-active drugs (lorazepam, oxycodone)" in card.detail


def test_geriatric_age_is_setting() -> None:
    rec = record(age=62, meds=[LOR])
    assert geriatric.evaluate(rec, settings()) == []
    assert geriatric.evaluate(rec, settings(geriatric_age=60))


FOCUS = [
    (
        "select: selected new draft, no taper offered",
        "order-select",
        [med("zolpidem", draft=True, selected=True)],
        True,
        False,
    ),
    ("select: unselected draft", "order-select", [med("zolpidem", draft=True)], False, False),
    (
        "select: selected renewal offers a taper",
        "order-select",
        [LOR, med("lorazepam", draft=True, selected=True)],
        True,
        True,
    ),
    ("sign: chart benzo only, no draft", "order-sign", [LOR], False, False),
    ("sign: draft", "order-sign", [med("zolpidem", draft=True)], True, False),
    ("view: chart benzo", "patient-view", [LOR], True, True),
]


@pytest.mark.parametrize(
    ("label", "hook", "meds", "fires", "taper"), FOCUS, ids=[f[0] for f in FOCUS]
)
def test_focus_per_hook(label: str, hook: str, meds: list, fires: bool, taper: bool) -> None:
    cards = geriatric.evaluate(record(age=72, meds=meds, hook=hook), settings(**ALONE))
    assert len(cards) == int(fires)
    for card in cards:
        check_card(card, RULE)
        assert bool(resources(card, "CarePlan")) == taper
        if not taper:
            assert "Before starting" in card.detail


def test_deterministic_uuid() -> None:
    rec = record(age=72, meds=[LOR])
    assert geriatric.evaluate(rec, settings()) == geriatric.evaluate(rec, settings())


def test_no_second_taper_careplan_when_the_taper_card_offers_one() -> None:
    rec = record(age=78, meds=[LOR])
    [card] = geriatric.evaluate(rec, settings())
    assert resources(card, "CarePlan") == []
    assert card.suggestions is None
    assert "see the taper-plan card" in card.detail
    [taper_card] = taper_plan.evaluate(rec, settings())
    assert resources(taper_card, "CarePlan")


def test_existing_taper_plan_is_continued_not_proposed_again() -> None:
    rec = record(age=78, meds=[LOR], plans=[plan(PlanKind.TAPER_PLAN)])
    [card] = geriatric.evaluate(rec, settings(**ALONE))
    assert card.suggestions is None
    assert "A taper plan is on record" in card.detail
