"""Insomnia treated with a benzodiazepine or Z-drug and no CBT-I referral (ACP 2016; AASM 2021).

ACP 2016: CBT-I is the initial treatment for chronic insomnia disorder in all adults (strong).
AASM 2021: multicomponent CBT-I for chronic insomnia in adults (strong). Both guidelines are
for adults, so a patient known to be under settings.adult_age gets no card. Any CBT-I
referral already on record (active or completed) suppresses the card: a completed course is
still CBT-I given, and a re-referral is a clinical call rather than a reminder. A referral
being ordered now (a draft in order-select / order-sign) counts too. Inpatient sedative orders
are left out: the guidelines are about chronic insomnia in outpatients.

Data: needs ServiceRequest and CarePlan besides Patient and MedicationRequest, and stays quiet
without them: a referral already on record could not be seen, and this info card's point is a
referral suggestion that would then duplicate it. It returns on the next call with the data.
Without Conditions it fires only on an insomnia reason on the order itself.
"""

from __future__ import annotations

from app.cards import budget, common
from app.cards.base import card_uuid, suggestion_uuid
from app.cards.resources import cbti_referral, create_suggestion
from app.config import Settings
from app.models.cards import Card, Link
from app.record import (
    ConditionCategory,
    ConditionFact,
    MedicationUse,
    PatientRecord,
    PlanKind,
)

RULE_ID = "cbti-referral"
# Data this rule cannot run without (read by the registry); Condition is optional.
REQUIRES = frozenset({"Patient", "MedicationRequest", "ServiceRequest", "CarePlan"})
TOPIC = "CBT-I for insomnia treated with a benzodiazepine or Z-drug"


def _findings(
    record: PatientRecord, settings: Settings
) -> tuple[list[MedicationUse], list[ConditionFact]] | None:
    """(sedatives in focus, insomnia conditions) when the card applies, else None."""
    if record.age is not None and record.age < settings.adult_age:
        return None
    # Any CBT-I referral on record (revoked / cancelled ones are dropped by normalization).
    if any(p.kind is PlanKind.CBTI_REFERRAL for p in record.plans):
        return None
    focus = common.focus_refs(record)
    involved = [m for m in common.bzras(common.outpatient(common.pool(record))) if m.ref in focus]
    insomnia = record.conditions_in(ConditionCategory.INSOMNIA)
    for_sleep = [m for m in involved if ConditionCategory.INSOMNIA in m.reason_categories]
    if not involved or not (insomnia or for_sleep):
        return None
    return involved, insomnia


def verdict(record: PatientRecord, settings: Settings) -> str | None:
    """The indicator of the card `evaluate` returns, or None; builds no referral."""
    return "info" if _findings(record, settings) is not None else None


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One info card offering a draft CBT-I referral."""
    found = _findings(record, settings)
    if found is None:
        return []
    involved, insomnia = found
    names = common.drug_names(involved)
    evidence = common.md_text(
        ", ".join(
            f"{c.name}" + (f" (since {common.day(c.onset)})" if c.onset else "")
            for c in insomnia[:2]
        ),
        80,
    )
    # The drug list shortens as far as the reading budget needs; the rest is never cut.
    detail = budget.fitted(
        [
            [["**Insomnia:** " + (evidence or "the reason on the order")]],
            [
                [common.bullet_list(involved, record.evaluated_on)],
                ["- " + budget.compact(involved)],
                ["- " + budget.names(involved, 3)],
            ],
            [
                [
                    "\n**CBT-I is the first-line treatment** for chronic insomnia in adults (ACP "
                    "2016, "
                    "AASM 2021; both strong) and helps during a sedative taper (ASAM 2025 rec. "
                    "10): "
                    "in person, in a group, or digital."
                ]
            ],
        ]
    )
    card_id = card_uuid(record, RULE_ID, involved)
    suggestion = create_suggestion(
        "Refer to cognitive behavioural therapy for insomnia (CBT-I)",
        suggestion_uuid(card_id, "cbti-referral"),
        "Draft a CBT-I referral.",
        cbti_referral(record, insomnia[0] if insomnia else None),
    )
    return [
        Card(
            uuid=card_id,
            summary=common.fit_summary(
                "Insomnia on {drugs}: refer for CBT-I, the first-line "
                "treatment (ACP 2016, AASM 2021)",
                names,
            ),
            detail=detail,
            indicator="info",
            source=common.source(common.ACP_2016, RULE_ID, TOPIC),
            suggestions=(suggestion,) if suggestion else None,
            # A single referral is offered.
            selectionBehavior="at-most-one" if suggestion else None,
            overrideReasons=(
                common.project_reason("cbti-elsewhere", "CBT-I already done or arranged elsewhere"),
                common.project_reason(
                    "cbti-not-suitable", "CBT-I not available or not suitable now"
                ),
                common.project_reason("patient-declines-referral", "Patient declines referral"),
                common.SNOOZE_3_MONTHS,
            ),
            links=(Link(label=common.AASM_2021[0], url=common.AASM_2021[1], type="absolute"),),
        )
    ]
