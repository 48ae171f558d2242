"""The clinical rules (their order breaks ties between cards of one indicator) and the runner."""

from __future__ import annotations

from app.cards import cbti_referral, geriatric, off_ramp, opioid_overlap, taper_plan
from app.cards.base import Rule
from app.config import Settings
from app.models.cards import Card
from app.record import PatientRecord


def _with_data(requires: frozenset[str], rule: Rule) -> Rule:
    """The rule, quiet when data it declares it cannot do without (its REQUIRES) is missing."""
    def run(record: PatientRecord, settings: Settings) -> list[Card]:
        return [] if requires & record.missing_data else rule(record, settings)
    return run


# Ordered by severity of the harm each card addresses; a new rule is one module plus one line.
RULES: dict[str, Rule] = {
    opioid_overlap.RULE_ID: _with_data(opioid_overlap.REQUIRES, opioid_overlap.evaluate),
    taper_plan.RULE_ID: _with_data(taper_plan.REQUIRES, taper_plan.evaluate),
    off_ramp.RULE_ID: _with_data(off_ramp.REQUIRES, off_ramp.evaluate),
    geriatric.RULE_ID: _with_data(geriatric.REQUIRES, geriatric.evaluate),
    cbti_referral.RULE_ID: _with_data(cbti_referral.REQUIRES, cbti_referral.evaluate),
}


def run_rules(record: PatientRecord, settings: Settings) -> list[Card]:
    """Cards from every rule in settings.enabled_rules, in registry order."""
    enabled = set(settings.enabled_rules)
    cards: list[Card] = []
    for rule_id, rule in RULES.items():
        if rule_id in enabled:
            cards.extend(rule(record, settings))
    return cards
