"""The rule registry and runner: every rule registered, only enabled rules run."""

from __future__ import annotations

from app.cards import RULES, run_rules
from app.config import ALL_RULES
from app.record import PlanKind
from tests.cards.builders import C, check_card, cond, med, plan, record, settings

# An older adult on long-term alprazolam for insomnia with an opioid: every rule has a say
# except the off-ramp (patient-view has no new orders).
BUSY = record(
    age=70,
    meds=[med("alprazolam", daily=1, days_ago=200), med("oxycodone", mme=30)],
    conditions=[cond(C.INSOMNIA)],
)


def test_registry_order_and_ids() -> None:
    assert tuple(RULES) == ALL_RULES


def test_runs_all_enabled_rules_once() -> None:
    cards = run_rules(BUSY, settings())
    topics = [c.source.topic.code for c in cards if c.source.topic]
    assert topics == [
        "opioid-benzodiazepine-overlap",
        "taper-plan",
        "geriatric-risk",
        "cbti-referral",
    ]
    for card in cards:
        check_card(card, card.source.topic.code if card.source.topic else "")
    assert len({c.uuid for c in cards}) == len(cards)


def test_only_enabled_rules_run() -> None:
    cards = run_rules(BUSY, settings(enabled_rules="cbti-referral,taper-plan"))
    assert [c.source.topic.code for c in cards if c.source.topic] == ["taper-plan", "cbti-referral"]
    assert run_rules(BUSY, settings(enabled_rules=[])) == []


def test_quiet_chart_gives_no_cards() -> None:
    rec = record(age=40, meds=[med("lisinopril")], plans=[plan(PlanKind.MEDICATION_REVIEW)])
    assert run_rules(rec, settings()) == []
