"""Benzodiazepine or Z-drug in an adult aged 65 or older (AGS Beers Criteria 2023).

Beers 2023 Table 2: avoid benzodiazepines and Z-drugs (falls, fractures, delirium, cognitive
impairment, motor-vehicle crashes). Escalated to critical with a history of falls or fractures,
dementia or delirium (Table 3), or >= settings.cns_active_count_escalation CNS-active drugs
(Table 5). Scope: Beers applies "in all ambulatory, acute, and institutionalized settings of
care, except hospice and end-of-life care settings", so no card in hospice, palliative or
end-of-life care (a Condition or an order / plan for that care, app/cards/scope.py), and none
for a periprocedural parenteral benzodiazepine (injectable midazolam or remimazolam:
ingredients.json, from their labels); other injectable benzodiazepines are also given for
agitation, where Beers applies. Table 2 says benzodiazepines "may be appropriate" for seizure
disorders, REM sleep behaviour disorder, benzodiazepine or alcohol withdrawal and severe
generalized anxiety disorder: those make the card `info` (benzodiazepines only; an order with
another stated reason is not excepted). No birthDate (age unknown): the card does not fire.
Inpatient orders count: Beers applies in every setting.

When the taper-plan card fires it carries the schedule: this card points to it rather than
restating it (the rule asks taper_plan.fires, since that decides whether this card carries its
own CarePlan suggestion, not only its words).

Data: needs Patient and MedicationRequest. Without Conditions the card fires and says the
exceptions and escalations could not be checked; without CarePlans it says an existing taper
plan may not have been seen (its taper suggestion may duplicate one).
"""

from __future__ import annotations

from typing import NamedTuple

from app.cards import budget, common, scope, taper_plan
from app.cards.base import card_uuid, suggestion_uuid
from app.cards.resources import create_suggestion
from app.cards.taper import build_schedule, careplan, schedule_summary
from app.cards.taper_plan import RULE_ID as RULE_TAPER
from app.cards.taper_plan import primary
from app.config import Settings
from app.models.cards import Card, Indicator, Link, Suggestion
from app.record import ConditionCategory, DrugClass, MedicationUse, PatientRecord
from app.terminology import periprocedural_parenteral

RULE_ID = "geriatric-risk"
# Data this rule cannot run without (read by the registry); Condition and CarePlan are optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "Benzodiazepine or Z-drug in an older adult (Beers 2023)"
# Beers 2023 Table 2 "may be appropriate" list for benzodiazepines.
BENZO_EXCEPTIONS = (
    ConditionCategory.SEIZURE,
    ConditionCategory.REM_SLEEP_BEHAVIOR,
    ConditionCategory.WITHDRAWAL,
    ConditionCategory.SEVERE_GAD,
)
_EXCEPTION_TEXT = {
    ConditionCategory.SEIZURE: "seizure disorder",
    ConditionCategory.REM_SLEEP_BEHAVIOR: "REM sleep behaviour disorder",
    ConditionCategory.WITHDRAWAL: "alcohol or benzodiazepine withdrawal",
    ConditionCategory.SEVERE_GAD: "severe generalized anxiety disorder",
}
# Beers 2023 Table 3 drug-disease interactions.
ESCALATING = {
    ConditionCategory.FALLS_FRACTURE: "history of falls or fractures",
    ConditionCategory.DEMENTIA_DELIRIUM: "dementia or delirium",
}
# Beers 2023 Table 5 CNS-active classes that our terminology classifies. Antidepressants,
# antipsychotics and skeletal muscle relaxants count too, but the terminology does not classify
# them, so the count here can be lower than the true one.
# Drugs named in one clause of the card before the rest are counted (issue #11: ~100 words).
_NAMED_MAX = 3
CNS_ACTIVE = frozenset(
    {
        DrugClass.BENZODIAZEPINE,
        DrugClass.Z_DRUG,
        DrugClass.OPIOID,
        DrugClass.GABAPENTINOID,
        DrugClass.BARBITURATE,
        DrugClass.OTHER_CNS_DEPRESSANT,
    }
)


def _periprocedural(med: MedicationUse) -> bool:
    return med.is_injectable and periprocedural_parenteral(med.ingredient)


def _cns_active(meds: list[MedicationUse]) -> list[str]:
    return common.drug_names(m for m in meds if m.drug_class in CNS_ACTIVE)


class _Finding(NamedTuple):
    """The sedatives the card is about, their exceptions and escalations, and its severity."""

    involved: list[MedicationUse]
    exceptions: dict[str, ConditionCategory | None]
    at_risk: list[MedicationUse]
    escalations: list[str]  # Beers Table 3 conditions, then the Table 5 count if reached
    cns: list[str]  # the CNS-active drugs, when their count escalates
    indicator: Indicator


def _assess(record: PatientRecord, settings: Settings) -> _Finding | None:
    """The card's finding, or None when the rule does not fire."""
    if record.age is None or record.age < settings.geriatric_age or scope.end_of_life(record):
        return None
    meds = common.pool(record)
    focus = common.focus_refs(record)
    involved = [m for m in common.bzras(meds) if m.ref in focus and not _periprocedural(m)]
    if not involved:
        return None
    exceptions = {m.ref: scope.benzo_exception(m, record, BENZO_EXCEPTIONS) for m in involved}
    at_risk = [m for m in involved if exceptions[m.ref] is None]
    cns = _cns_active(meds)
    escalations = [text for category, text in ESCALATING.items() if record.has_condition(category)]
    if len(cns) < settings.cns_active_count_escalation:
        cns = []
    else:
        escalations.append(f"{len(cns)} CNS-active drugs")
    indicator: Indicator = "info" if not at_risk else "critical" if escalations else "warning"
    return _Finding(involved, exceptions, at_risk, escalations, cns, indicator)


def verdict(record: PatientRecord, settings: Settings) -> str | None:
    """The indicator of the card `evaluate` returns, or None; builds no text or taper plan."""
    found = _assess(record, settings)
    return None if found is None else found.indicator


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One card when an older adult takes or is about to take a BZRA."""
    found = _assess(record, settings)
    if found is None:
        return []
    involved, exceptions, at_risk, escalations, cns, indicator = found

    names = common.drug_names(involved)
    if at_risk:
        summary = common.fit_summary(
            f"Age {record.age}: {{drugs}} raises risk of falls, "
            "fractures and delirium (Beers 2023)",
            names,
        )
    else:
        summary = common.fit_summary(
            f"Age {record.age}: {{drugs}} may be appropriate here (Beers exception); review use",
            names,
        )
    # Each part: its forms, longest first; budget.fitted shortens them in this order as far as
    # the 100-word budget needs (issue #11). One form: never shortened.
    parts: list[list[list[str]]] = [_evidence_forms(involved, record)]
    if at_risk:
        parts.append(
            [
                [
                    "\nBeers 2023: avoid at 65 or older (falls, fractures, delirium, "
                    "cognitive impairment, car crashes)."
                ],
                ["\nBeers 2023: avoid at 65 or older."],
            ]
        )
    excepted: dict[ConditionCategory, list[MedicationUse]] = {}
    for med in involved:
        if (why := exceptions[med.ref]) is not None:
            excepted.setdefault(why, []).append(med)
    if excepted:
        # One clause per reason, not per drug: many excepted orders stay one short sentence.
        parts.append(
            [
                [
                    "\nMay be appropriate (Beers 2023 exception): "
                    + "; ".join(
                        f"{common.name_list(common.drug_names(meds), _NAMED_MAX)} for "
                        f"{_EXCEPTION_TEXT[why]}"
                        for why, meds in excepted.items()
                    )
                    + "."
                    # With drugs not excepted, the Beers line above already names the risks.
                    + (
                        ""
                        if at_risk
                        else " Review the need and dose: falls, fractures and delirium "
                        "remain risks."
                    )
                ]
            ]
        )
    if escalations and at_risk:
        named = (
            [*escalations[:-1], f"{escalations[-1]} ({common.name_list(cns, _NAMED_MAX)})"]
            if cns
            else escalations
        )
        parts.append(
            [
                [f"**Higher risk:** {'; '.join(forms)} (Beers 2023 Tables 3, 5)."]
                for forms in (named, escalations)
            ]
        )
    unchecked = [
        common.not_checked(record, ("Condition",), what, (("CarePlan",), "an existing taper plan"))
        for what in (
            "Beers exceptions, falls, fractures, dementia, delirium",
            "exceptions and risk conditions",
        )
    ]
    if unchecked[0]:
        parts.append([["\n" + text] for text in unchecked if text])

    card_id = card_uuid(record, RULE_ID, involved)
    taper_lines, suggestions = _taper(record, settings, card_id, at_risk)
    # Short form: the schedule without its pace line (the suggested CarePlan and the planner
    # carry the whole schedule); the first step, the end and never-stop-abruptly stay.
    without_pace = [
        "\n".join(line for line in text.split("\n") if not line.startswith("- Pace: "))
        for text in taper_lines
    ]
    parts.append([taper_lines, without_pace] if without_pace != taper_lines else [taper_lines])
    return [
        Card(
            uuid=card_id,
            summary=summary,
            detail=budget.fitted(parts),
            indicator=indicator,
            source=common.source(common.BEERS_2023, RULE_ID, TOPIC),
            suggestions=tuple(suggestions) or None,
            # A single taper plan is offered; taper one drug at a time.
            selectionBehavior="at-most-one" if suggestions else None,
            overrideReasons=(
                common.project_reason(
                    "beers-exception-not-coded",
                    "Appropriate use (e.g., seizures, RBD, withdrawal, severe "
                    "GAD, procedure) not coded",
                ),
                common.ALREADY_TAPERING,
                common.PATIENT_DECLINES_TAPER,
                common.BENEFITS_OUTWEIGH_RISKS,
                common.SNOOZE_3_MONTHS,
            ),
            links=(
                Link(
                    label=common.DEPRESCRIBING_ALGORITHMS[0],
                    url=common.DEPRESCRIBING_ALGORITHMS[1],
                    type="absolute",
                ),
                Link(
                    label=common.EMPOWER_BROCHURE[0],
                    url=common.EMPOWER_BROCHURE[1],
                    type="absolute",
                ),
            ),
        )
    ]


def _evidence_forms(involved: list[MedicationUse], record: PatientRecord) -> list[list[str]]:
    """The sedatives, longest form first (issue #11 budget): full lines with dates, a few words
    a drug, then names only."""
    return [
        [common.bullet_list(involved, record.evaluated_on)],
        [f"- {budget.compact(involved)}"],
        [
            f"- **Sedatives ({len(common.drug_names(involved))}):** "
            f"{budget.names(involved, _NAMED_MAX)}"
        ],
    ]


def _taper(
    record: PatientRecord, settings: Settings, card_id: str, at_risk: list[MedicationUse]
) -> tuple[list[str], list[Suggestion]]:
    """What the card says about tapering, and its CarePlan suggestion when it carries one."""
    # A taper is offered only for drugs already on the chart (a draft renewal counts as such).
    chart_taking = [
        c
        for c in common.bzras(common.chart_orders(record))
        if not c.is_injectable and any(common.same_drug(c, m) for m in at_risk)
    ]
    if not chart_taking:
        return (
            [
                "\n**Before starting:** prefer non-drug options (CBT-I for insomnia, CBT for "
                "anxiety); if used, the lowest dose for the shortest time."
            ]
            if at_risk
            else []
        ), []
    if scope.sedative_taper_plan(record) or any(m.mentions_taper for m in chart_taking):
        return [
            "\n**A taper plan is on record:** continue it slowly and review it at each "
            "visit (ASAM 2025 recs. 6-9)."
        ], []
    if settings.rule_mode(RULE_TAPER) == "active" and taper_plan.fires(record, settings):
        # The taper-plan card carries the schedule and its CarePlan: one per response. Only a
        # shown (active) taper-plan card counts: a silent one reaches no clinician.
        return [
            "\n**Offer a slow taper** (Pottie 2018: offer to all adults 65+)"
            + common.SEE_TAPER_CARD
        ], []
    target = primary(chart_taking)
    schedule = build_schedule(target, record.evaluated_on, settings)
    name = common.short_name(target)
    lines = [
        f"\n**Offer a slow taper of {name}** (Pottie 2018; ASAM 2025 rec. 6):",
        schedule_summary(schedule),
        "\n" + common.NEVER_STOP,
    ]
    suggestion = create_suggestion(
        f"Propose a gradual taper plan for {name}",
        suggestion_uuid(card_id, f"taper-careplan|{target.ref}"),
        f"Draft a taper CarePlan for {name}.",
        careplan(record, schedule),
    )
    return lines, [suggestion] if suggestion else []
