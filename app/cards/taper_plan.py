"""Long-term benzodiazepine / Z-drug use with no taper plan and no recent review (ASAM 2025).

Long-term: continuous use for at least settings.long_term_days (ASAM 2025 Table 2: >= 1 month;
STOPP v2 D5: >= 4 weeks), counted over the episode across renewals (MedicationUse.episode_start),
of an outpatient order in force, or of a draft in focus that continues such an episode.
Review: ASAM 2025 rec. 1, at least every 3 months (settings.review_interval_days). Not in
palliative / end-of-life care (outside the ASAM guideline's scope), and not for a
benzodiazepine used for a seizure disorder or for alcohol / benzodiazepine withdrawal: those
exceptions are about benzodiazepines, so a Z-drug for insomnia in a patient with epilepsy still
gets the card (app/cards/scope.py). A taper plan counts only when it is about a sedative (an
opioid taper does not), and so does an order that documents a taper: its words, a sequence
that steps the dose down, or a renewal at a lower dose (app/normalize). In order-select /
order-sign the card fires only when a focused draft BZRA is part of it: renewing or adding a
sedative is the moment to plan the taper.

Data: needs Patient and MedicationRequest. Without CarePlans or ServiceRequests (where taper
plans and reviews are recorded) or Conditions (the exceptions above) the card still fires and
says what it could not check: long-term use is the finding, and the clinician, who knows
whether a plan exists, can dismiss it with "plan documented elsewhere". The proposed schedule
is computed only from an exact daily dose (app/cards/taper.py); the card shows its first step,
pace and end, and the CarePlan suggestion (and the planner) every step.
"""

from __future__ import annotations

from datetime import date, timedelta

from app.cards import common, scope
from app.cards.base import card_uuid, suggestion_uuid
from app.cards.common import taken_since
from app.cards.resources import create_suggestion
from app.cards.taper import TaperSchedule, build_schedule, careplan, diazepam_eq, schedule_summary
from app.config import Settings
from app.models.cards import Card, Link, Suggestion
from app.planner.link import LABEL as PLANNER_LABEL
from app.planner.link import planner_url
from app.record import ConditionCategory, MedicationUse, PatientRecord, PlanKind
from app.taper import LONG_ACTING_TARGETS

RULE_ID = "taper-plan"
# Data this rule cannot run without (read by the registry); CarePlan, ServiceRequest and
# Condition are optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "Long-term benzodiazepine or Z-drug without a taper plan or review"
# Benzodiazepines used for these are outside the ASAM taper guideline's scope.
BENZO_EXCEPTIONS = (ConditionCategory.SEIZURE, ConditionCategory.WITHDRAWAL)


def _excepted(med: MedicationUse, record: PatientRecord) -> bool:
    return scope.benzo_exception(med, record, BENZO_EXCEPTIONS) is not None


def long_term(record: PatientRecord, settings: Settings) -> list[MedicationUse]:
    """Outpatient BZRA orders in force, or focused drafts, taken for ``long_term_days`` or more.

    A draft counts only when no chart order of the same drug does (a resumed course after a
    completed one), so a renewal is not listed twice.
    """
    cutoff = record.evaluated_on - timedelta(days=settings.long_term_days)

    def long_enough(m: MedicationUse) -> bool:
        since = taken_since(m)
        return (
            since is not None
            and since <= cutoff
            and not m.is_injectable
            and not _excepted(m, record)
        )

    chart = [
        m for m in common.bzras(common.outpatient(common.chart_orders(record))) if long_enough(m)
    ]
    drafts = [
        m
        for m in common.bzras(common.outpatient(common.pool(record)))
        if m.is_draft and long_enough(m) and not any(common.same_drug(m, c) for c in chart)
    ]
    return chart + drafts


def _planned(record: PatientRecord, meds: list[MedicationUse], settings: Settings) -> bool:
    if scope.sedative_taper_plan(record) or any(m.mentions_taper for m in meds):
        return True
    since = record.evaluated_on - timedelta(days=settings.review_interval_days)
    return any(
        p.kind is PlanKind.MEDICATION_REVIEW
        and p.recorded_on is not None
        and since <= p.recorded_on <= record.evaluated_on
        for p in record.plans
    )


def primary(meds: list[MedicationUse]) -> MedicationUse:
    """The drug to taper first: the largest diazepam-equivalent dose, else the longest used."""
    return max(
        meds,
        key=lambda m: (
            diazepam_eq(m) or -1.0,
            -(since.toordinal() if (since := taken_since(m)) else 0),
            m.ref,
        ),
    )


def _findings(
    record: PatientRecord, settings: Settings
) -> tuple[list[MedicationUse], list[MedicationUse]] | None:
    """(long-term BZRAs, BZRA drafts in focus) when the card applies, else None."""
    if scope.end_of_life(record):
        return None
    meds = long_term(record, settings)
    if not meds or _planned(record, common.bzras(common.pool(record)), settings):
        return None
    drafts: list[MedicationUse] = []
    if record.hook in ("order-select", "order-sign"):
        focus = common.focus_refs(record)
        drafts = [
            m
            for m in common.bzras(common.outpatient(common.pool(record)))
            if m.ref in focus and not _excepted(m, record)
        ]
        if not drafts:
            return None
    return meds, drafts


def fires(record: PatientRecord, settings: Settings) -> bool:
    """Whether `evaluate` returns a card, without building its taper plan."""
    return _findings(record, settings) is not None


def verdict(record: PatientRecord, settings: Settings) -> str | None:
    """The indicator of the card `evaluate` returns, or None; builds no schedule or plan."""
    return "warning" if fires(record, settings) else None


def _switch_line(switched: TaperSchedule) -> str:
    """ASAM 2025 rec. 7 as one line, with the equivalence range the table gives."""
    first = switched.steps[0]
    spread = switched.plan.switch.range_mg if switched.plan and switched.plan.switch else None
    shown = (
        f", table {common.mg(float(spread[0]))}-{common.mg(float(spread[1]))} mg"
        if spread and spread[0] != spread[1]
        else ""
    )
    return (
        f"- Or switch first to {common.mg(first.dose_mg)} mg/day {first.ingredient}{shown}"
        " (rec. 7; second suggestion)"
    )


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One warning with a computed taper schedule offered as a draft CarePlan."""
    found = _findings(record, settings)
    if found is None:
        return []
    meds, drafts = found
    involved = meds + [d for d in drafts if d not in meds]
    target = primary(meds)
    today = record.evaluated_on
    schedule = build_schedule(target, today, settings)
    # ASAM 2025 rec. 7: for a short-acting benzodiazepine, the long-acting switch as a second
    # suggestion (the engine refuses it where the recommendation does not apply).
    switched = (
        build_schedule(target, today, settings, switch_to=LONG_ACTING_TARGETS[0])
        if schedule.steps
        else None
    )
    switched = switched if switched is not None and switched.steps else None
    name = common.short_name(target)

    summary = common.fit_summary(
        "Long-term {drugs} with no taper plan or review in "
        f"{settings.review_interval_days} days: plan a gradual taper",
        common.drug_names(meds),
    )
    lines = [f"- {common.describe(target, today, days=True)}"]
    others = [m for m in meds if m is not target]
    if others:
        lines.append(f"- Also long-term: {', '.join(common.drug_names(others))}")
    new_drafts = [d for d in drafts if d not in meds]
    if new_drafts:
        lines.append(f"\nBeing ordered now: {', '.join(common.drug_names(new_drafts))}.")
    unchecked = common.not_checked(
        record,
        ("CarePlan", "ServiceRequest"),
        "taper plan, review",
        (("Condition",), "seizure disorder, withdrawal, end-of-life care"),
    )
    if unchecked:
        lines.append("\n" + unchecked)
    which = (
        f" of {name}** (ASAM 2025 rec. 6; one drug at a time)"
        if others
        else "** (ASAM 2025 rec. 6)"
    )
    lines.append(f"\n**Proposed taper{which}:")
    lines.append(schedule_summary(schedule))
    if switched is not None:
        lines.append(_switch_line(switched))
    lines.append("\n" + common.NEVER_STOP)

    card_id = card_uuid(record, RULE_ID, involved)
    suggestions = _suggestions(record, card_id, target, schedule, switched)
    return [
        Card(
            uuid=card_id,
            summary=summary,
            detail="\n".join(lines),
            indicator="warning",  # as `verdict` says
            source=common.source(common.ASAM_2025, RULE_ID, TOPIC),
            suggestions=suggestions or None,
            # One taper plan at a time (ASAM: taper one drug at a time).
            selectionBehavior="at-most-one" if suggestions else None,
            overrideReasons=(
                common.ALREADY_TAPERING,
                common.PLAN_ELSEWHERE,
                common.PATIENT_DECLINES_TAPER,
                common.SPECIALIST_MANAGED,
                common.SNOOZE_3_MONTHS,
            ),
            links=_links(settings, target, today),
        )
    ]


def _suggestions(
    record: PatientRecord,
    card_id: str,
    target: MedicationUse,
    schedule: TaperSchedule,
    switched: TaperSchedule | None,
) -> tuple[Suggestion, ...]:
    name = common.short_name(target)
    suggestion = create_suggestion(
        f"Propose a gradual taper plan for {name}",
        suggestion_uuid(card_id, f"taper-careplan|{target.ref}"),
        f"Draft a taper CarePlan for {name}.",
        careplan(record, schedule),
    )
    alternative = (
        create_suggestion(
            f"Switch {name} to {switched.switch_to}, then taper",
            suggestion_uuid(card_id, f"taper-careplan-switch|{target.ref}"),
            f"Draft a CarePlan: switch {name} to {switched.switch_to}, then taper.",
            careplan(record, switched),
        )
        if switched is not None
        else None
    )
    if alternative is not None:  # the plain taper stays the recommended one
        alternative = alternative.model_copy(update={"isRecommended": False})
    return tuple(s for s in (suggestion, alternative) if s)


def _links(settings: Settings, target: MedicationUse, starts: date) -> tuple[Link, ...]:
    """The FDA warning, and the taper planner (#16) for the drug: no patient data in its URL."""
    links = [Link(label=common.FDA_2020_BOXED[0], url=common.FDA_2020_BOXED[1], type="absolute")]
    url = planner_url(settings, target, starts)
    if url:
        links.insert(0, Link(label=PLANNER_LABEL, url=url, type="absolute"))
    return tuple(links)
