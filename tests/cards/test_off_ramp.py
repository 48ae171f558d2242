"""New BZRA draft order without a stop date, or longer than 4 weeks (ASAM 2025)."""

from __future__ import annotations

import pytest

from app.cards import off_ramp
from tests.cards.builders import C, check_card, cond, med, record, settings

RULE = off_ramp.RULE_ID


def draft(ingredient: str = "lorazepam", **kw) -> object:
    kw.setdefault("selected", True)
    return med(ingredient, draft=True, **kw)


CASES = [
    ("open-ended benzo draft", "order-sign", [draft()], [], True),
    ("open-ended z-drug draft", "order-sign", [draft("zolpidem")], [], True),
    ("28 days", "order-sign", [draft(stop_in_days=28)], [], False),
    ("29 days", "order-sign", [draft(stop_in_days=29)], [], True),
    ("14 days", "order-select", [draft(stop_in_days=14)], [], False),
    ("opioid draft", "order-sign", [draft("oxycodone")], [], False),
    ("injectable draft", "order-sign", [draft("midazolam", injectable=True)], [], False),
    ("seizure disorder", "order-sign", [draft()], [cond(C.SEIZURE)], False),
    ("withdrawal", "order-sign", [draft()], [cond(C.WITHDRAWAL)], False),
    ("palliative", "order-sign", [draft()], [cond(C.END_OF_LIFE)], False),
    ("ordered for withdrawal", "order-sign", [draft(reasons=(C.WITHDRAWAL,))], [], False),
    ("select: unselected draft", "order-select", [draft(selected=False)], [], False),
    ("select: selected draft", "order-select", [draft()], [], True),
    ("patient-view has no new orders", "patient-view", [med("lorazepam")], [], False),
    (
        "renewal of long-term use (taper card's job)",
        "order-sign",
        [med("lorazepam", days_ago=200), draft()],
        [],
        False,
    ),
    (
        "new course after a recent short one",
        "order-sign",
        [med("lorazepam", days_ago=10), draft()],
        [],
        True,
    ),
    ("no dose on the draft", "order-sign", [draft(daily=None)], [], True),
]


@pytest.mark.parametrize(
    ("label", "hook", "meds", "conditions", "fires"), CASES, ids=[c[0] for c in CASES]
)
def test_table(label: str, hook: str, meds: list, conditions: list, fires: bool) -> None:
    cards = off_ramp.evaluate(record(meds=meds, conditions=conditions, hook=hook), settings())
    assert len(cards) == int(fires)
    for card in cards:
        check_card(card, RULE)
        assert card.indicator == "info"
        assert "off-ramp" in card.summary


def test_detail_has_reason_duration_follow_up_and_success() -> None:
    rec = record(
        meds=[draft(reasons=(C.ANXIETY,), dose_text="0.5 mg at bedtime")], hook="order-sign"
    )
    card = off_ramp.evaluate(rec, settings())[0]
    assert "lorazepam" in card.summary
    assert "ordered for anxiety or panic" in card.detail
    assert "no stop date or duration" in card.detail
    assert "At most 28 days (to 2025-06-30)" in card.detail  # evaluated_on + 28 days
    assert "Follow-up by 2025-06-30" in card.detail
    assert "- Success: the symptom is managed without the drug" in card.detail


def test_reason_from_problem_list_or_missing() -> None:
    listed = off_ramp.evaluate(
        record(meds=[draft()], conditions=[cond(C.INSOMNIA)], hook="order-sign"), settings()
    )[0]
    assert "on the problem list: insomnia" in listed.detail
    missing = off_ramp.evaluate(record(meds=[draft()], hook="order-sign"), settings())[0]
    assert "document why it is used" in missing.detail


def test_long_order_reports_days_and_limit_is_a_setting() -> None:
    rec = record(meds=[draft(stop_in_days=60)], hook="order-sign")
    assert "60 days" in off_ramp.evaluate(rec, settings())[0].detail
    assert off_ramp.evaluate(rec, settings(new_order_max_days=60)) == []


def test_deterministic_uuid() -> None:
    rec = record(meds=[draft()], hook="order-sign")
    assert off_ramp.evaluate(rec, settings()) == off_ramp.evaluate(rec, settings())
