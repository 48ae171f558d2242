"""The clinical rules (their order breaks ties between cards of one indicator) and the runner
by rule mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.cards import cbti_referral, geriatric, off_ramp, opioid_overlap, taper_plan
from app.cards.base import Rule
from app.cards.resources import FULL_VALIDATION
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


@dataclass(frozen=True)
class Firings:
    """Cards of active rules (returned to the EHR) and of silent ones (counted, never shown)."""

    shown: list[Card] = field(default_factory=list)
    silent: list[Card] = field(default_factory=list)


def fire_rules(record: PatientRecord, settings: Settings) -> Firings:
    """Run every rule that is not off, in registry order, and sort its cards by mode."""
    firings = Firings()
    token = FULL_VALIDATION.set(settings.full_suggestion_validation)
    try:
        for rule_id, rule in RULES.items():
            mode = settings.rule_mode(rule_id)
            if mode != "off":
                (firings.shown if mode == "active" else firings.silent).extend(
                    rule(record, settings)
                )
    finally:
        FULL_VALIDATION.reset(token)
    return firings


def run_rules(record: PatientRecord, settings: Settings) -> list[Card]:
    """Cards from the active rules, in registry order (what the EHR is shown)."""
    return fire_rules(record, settings).shown
