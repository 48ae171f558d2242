"""Benzodiazepine or Z-drug in an adult aged 65 or older (AGS Beers Criteria 2023).

Beers 2023 Table 2: avoid benzodiazepines and Z-drugs (falls, fractures, delirium, cognitive
impairment, motor-vehicle crashes). Escalated to critical with a history of falls or fractures,
dementia or delirium (Table 3), or >= settings.cns_active_count_escalation CNS-active drugs
(Table 5). Table 2 says benzodiazepines "may be appropriate" for seizure disorders, REM sleep
behaviour disorder, benzodiazepine or alcohol withdrawal, severe generalized anxiety disorder
and periprocedural anesthesia (here: injectable orders); Beers does not apply at the end of
life. Those make the card `info`. The benzodiazepine exceptions do not cover Z-drugs.
No birthDate (age unknown): the card does not fire. Beers applies in every setting, so
inpatient orders count here.

Data: needs Patient and MedicationRequest. Without Conditions the card fires and says the
exceptions and escalations could not be checked; without CarePlans it says an existing taper
plan may not have been seen (its taper suggestion may duplicate one).
"""

from __future__ import annotations

from app.cards import common, taper_plan
from app.cards.base import card_uuid, suggestion_uuid
from app.cards.resources import create_suggestion
from app.cards.taper import build_schedule, careplan, schedule_markdown
from app.cards.taper_plan import RULE_ID as RULE_TAPER
from app.cards.taper_plan import primary
from app.config import Settings
from app.models.cards import Card, Link, Suggestion
from app.record import ConditionCategory, DrugClass, MedicationUse, PatientRecord, PlanKind

RULE_ID = "geriatric-risk"
# Data this rule cannot run without (read by the registry); Condition and CarePlan are optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "Benzodiazepine or Z-drug in an older adult (Beers 2023)"
# Beers 2023 Table 2 "may be appropriate" list for benzodiazepines.
BENZO_EXCEPTIONS = (ConditionCategory.SEIZURE, ConditionCategory.REM_SLEEP_BEHAVIOR,
                    ConditionCategory.WITHDRAWAL, ConditionCategory.SEVERE_GAD)
# Beers 2023 Table 3 drug-disease interactions.
ESCALATING = {ConditionCategory.FALLS_FRACTURE: "history of falls or fractures",
              ConditionCategory.DEMENTIA_DELIRIUM: "dementia or delirium"}
# Beers 2023 Table 5 CNS-active classes that our terminology classifies. Antidepressants,
# antipsychotics and skeletal muscle relaxants count too, but the terminology does not classify
# them, so the count here can be lower than the true one.
CNS_ACTIVE = frozenset({DrugClass.BENZODIAZEPINE, DrugClass.Z_DRUG, DrugClass.OPIOID,
                        DrugClass.GABAPENTINOID, DrugClass.BARBITURATE,
                        DrugClass.OTHER_CNS_DEPRESSANT})


def _exception(med: MedicationUse, record: PatientRecord) -> str | None:
    """Why Beers says this use may be appropriate, or None."""
    if record.has_condition(ConditionCategory.END_OF_LIFE):
        return "end-of-life care"
    if med.is_injectable:
        return "periprocedural (injectable) use"
    if med.drug_class is DrugClass.BENZODIAZEPINE:
        for category in BENZO_EXCEPTIONS:
            if record.has_condition(category) or category in med.reason_categories:
                return category.value.replace("-", " ")
    return None


def _cns_active(meds: list[MedicationUse]) -> list[str]:
    return common.drug_names(m for m in meds if m.drug_class in CNS_ACTIVE)


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One card when an older adult takes or is about to take a BZRA."""
    if record.age is None or record.age < settings.geriatric_age:
        return []
    meds = common.pool(record)
    focus = common.focus_refs(record)
    involved = [m for m in common.bzras(meds) if m.ref in focus]
    if not involved:
        return []
    exceptions = {m.ref: _exception(m, record) for m in involved}
    at_risk = [m for m in involved if exceptions[m.ref] is None]
    cns = _cns_active(meds)
    escalations = [text for category, text in ESCALATING.items() if record.has_condition(category)]
    if len(cns) >= settings.cns_active_count_escalation:
        escalations.append(f"{len(cns)} CNS-active drugs ({', '.join(cns)})")
    if not at_risk:
        indicator = "info"
    else:
        indicator = "critical" if escalations else "warning"

    names = common.drug_names(involved)
    if at_risk:
        summary = common.fit_summary(f"Age {record.age}: {{drugs}} raises risk of falls, "
                                     "fractures and delirium (Beers 2023)", names)
    else:
        summary = common.fit_summary(f"Age {record.age}: {{drugs}} may be appropriate here "
                                     "(Beers exception); review use", names)
    lines = [f"**Patient aged {record.age}** with:",
             common.bullet_list(involved, record.evaluated_on)]
    excepted = [(m, exceptions[m.ref]) for m in involved if exceptions[m.ref]]
    if excepted:
        lines.append("\nBeers 2023 exception: " + "; ".join(
            f"{common.short_name(m)}: {why}" for m, why in excepted) + ".")
    lines.append("\nBeers 2023 says avoid benzodiazepines and Z-drugs in older adults: higher "
                 "risk of falls, fractures, delirium, cognitive impairment and motor-vehicle "
                 "crashes.")
    if escalations and at_risk:
        lines.append(f"**Higher risk:** {'; '.join(escalations)} (Beers 2023 Tables 3 and 5).")
    unchecked = common.not_checked(
        record, ("Condition",), "Beers exceptions (e.g. seizure disorder) and higher-risk "
        "conditions (falls or fractures, dementia or delirium) could not be checked")
    if unchecked:
        lines.append(f"\n{unchecked}")

    card_id = card_uuid(record, RULE_ID, involved)
    suggestions: list[Suggestion] = []
    # A taper is offered only for drugs already on the chart (a draft renewal counts as such).
    chart_taking = [c for c in common.bzras(common.chart_orders(record))
                    if not c.is_injectable and any(common.same_drug(c, m) for m in at_risk)]
    already_planned = chart_taking and (record.has_plan(PlanKind.TAPER_PLAN)
                                        or any(m.mentions_taper for m in chart_taking))
    if already_planned:
        lines.append("\n**A taper plan is on record:** continue it, go slowly, and review it at "
                     "each visit (ASAM 2025 recs. 6-9).")
    elif chart_taking and RULE_TAPER in settings.enabled_rules and taper_plan.fires(
            record, settings):
        # The taper-plan card carries the same schedule; one CarePlan suggestion per call.
        lines.append("\n**Offer a slow taper** (Pottie 2018: offer to all adults 65+): see the "
                     "taper-plan card for a proposed schedule. Never stop abruptly.")
    elif chart_taking:
        target = primary(chart_taking)
        schedule = build_schedule(target, record.evaluated_on, settings)
        name = common.short_name(target)
        lines += [f"\n**Offer a slow taper of {name}** (Pottie 2018: offer to all adults 65+; "
                  "ASAM 2025 rec. 6). Never stop abruptly.", schedule_markdown(schedule)]
        unseen = common.not_checked(record, ("CarePlan",),
                                    "an existing taper plan may not have been seen")
        if unseen:
            lines.append(f"\n{unseen}")
        suggestion = create_suggestion(
            f"Propose a gradual taper plan for {name}",
            suggestion_uuid(card_id, f"taper-careplan|{target.ref}"),
            f"Draft a taper CarePlan for {name}.", careplan(record, schedule))
        if suggestion:
            suggestions.append(suggestion)
    elif at_risk:
        lines.append("\n**Before starting:** prefer non-drug options (CBT-I for insomnia, CBT "
                     "for anxiety); if used, give the lowest dose for the shortest time.")
    return [Card(
        uuid=card_id,
        summary=summary,
        detail="\n".join(lines),
        indicator=indicator,
        source=common.source(common.BEERS_2023, RULE_ID, TOPIC),
        suggestions=tuple(suggestions) or None,
        # A single taper plan is offered; taper one drug at a time.
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=(
            common.project_reason("beers-exception-not-coded",
                                  "Appropriate use (e.g., seizures, RBD, withdrawal, severe "
                                  "GAD, procedure) not coded"),
            common.ALREADY_TAPERING,
            common.PATIENT_DECLINES_TAPER,
            common.BENEFITS_OUTWEIGH_RISKS,
            common.SNOOZE_3_MONTHS,
        ),
        links=(
            Link(label=common.DEPRESCRIBING_ALGORITHMS[0],
                 url=common.DEPRESCRIBING_ALGORITHMS[1], type="absolute"),
            Link(label=common.EMPOWER_BROCHURE[0], url=common.EMPOWER_BROCHURE[1],
                 type="absolute"),
        ),
    )]
