"""Each rule's verdict without its card: the indicator it would show, for population dry runs.

A verdict runs the rule's own decision (the same functions `evaluate` calls first) and stops
before the card's text, taper schedule and suggestion resources are built: a dry run counts
cards and never shows them. `verdict(record) == evaluate(record)[0].indicator` (None when
`evaluate` returns no card) is what tests/cards/test_verdicts.py checks.
"""

from __future__ import annotations

from collections.abc import Callable

from app.cards import RULES, cbti_referral, geriatric, off_ramp, opioid_overlap, taper_plan
from app.config import Settings
from app.record import PatientRecord

# The indicator of the card a rule would return ("critical", "warning", "info") or None.
Verdict = Callable[[PatientRecord, Settings], str | None]

# Same rules, same order as the registry (app/cards/__init__.py), with what each cannot do without.
_VERDICTS: dict[str, tuple[frozenset[str], Verdict]] = {
    opioid_overlap.RULE_ID: (opioid_overlap.REQUIRES, opioid_overlap.verdict),
    taper_plan.RULE_ID: (taper_plan.REQUIRES, taper_plan.verdict),
    off_ramp.RULE_ID: (off_ramp.REQUIRES, off_ramp.verdict),
    geriatric.RULE_ID: (geriatric.REQUIRES, geriatric.verdict),
    cbti_referral.RULE_ID: (cbti_referral.REQUIRES, cbti_referral.verdict),
}
if list(_VERDICTS) != list(RULES):  # a rule added to one registry and not the other
    raise ImportError("app/cards/verdicts.py must list the rules of app/cards/__init__.py")


def rule_verdicts(record: PatientRecord, settings: Settings) -> dict[str, str]:
    """Rule id -> indicator for every rule that is not off and would return a card (silent
    rules included), in registry order: what `fire_rules` would fire, without the cards."""
    fired: dict[str, str] = {}
    for rule_id, (requires, verdict) in _VERDICTS.items():
        if settings.rule_mode(rule_id) == "off" or requires & record.missing_data:
            continue
        indicator = verdict(record, settings)
        if indicator is not None:
            fired[rule_id] = indicator
    return fired
