"""Long-term benzodiazepine / Z-drug use with no taper plan and no recent review (ASAM 2025).

Long-term: continuous use for at least settings.long_term_days (ASAM 2025 Table 2: >= 1 month;
STOPP v2 D5: >= 4 weeks), counted over the episode across renewals (MedicationUse.episode_start),
of an outpatient order in force, or of a draft in focus that continues such an episode.
Review: ASAM 2025 rec. 1, at least every 3 months (settings.review_interval_days). Not for
seizure disorders, alcohol or benzodiazepine withdrawal, or palliative / end-of-life care
(outside the ASAM guideline's scope). In order-select / order-sign the card fires only when a
focused draft BZRA is part of it: renewing or adding a sedative is the moment to plan the taper.

Data: needs Patient and MedicationRequest. Without CarePlans or ServiceRequests (where taper
plans and reviews are recorded) or Conditions (the exceptions above) the card still fires and
says what it could not check: long-term use is the finding, and the clinician, who knows
whether a plan exists, can dismiss it with "plan documented elsewhere". The proposed schedule
is computed only from an exact daily dose (app/cards/taper.py).
"""

from __future__ import annotations

from datetime import date, timedelta

from app.cards import common
from app.cards.base import card_uuid, suggestion_uuid
from app.cards.resources import create_suggestion
from app.cards.taper import build_schedule, careplan, diazepam_eq, schedule_markdown
from app.config import Settings
from app.models.cards import Card, Link
from app.planner.link import LABEL as PLANNER_LABEL
from app.planner.link import planner_url
from app.record import ConditionCategory, MedicationUse, PatientRecord, PlanKind
from app.taper import LONG_ACTING_TARGETS

RULE_ID = "taper-plan"
# Data this rule cannot run without (read by the registry); CarePlan, ServiceRequest and
# Condition are optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "Long-term benzodiazepine or Z-drug without a taper plan or review"
EXCEPTIONS = (ConditionCategory.SEIZURE, ConditionCategory.WITHDRAWAL,
              ConditionCategory.END_OF_LIFE)


def taken_since(med: MedicationUse) -> date | None:
    """First day of continuous use: the episode across renewals, else the order's start."""
    return med.episode_start or med.start


def long_term(record: PatientRecord, settings: Settings) -> list[MedicationUse]:
    """Outpatient BZRA orders in force, or focused drafts, taken for ``long_term_days`` or more.

    A draft counts only when no chart order of the same drug does (a resumed course after a
    completed one), so a renewal is not listed twice.
    """
    cutoff = record.evaluated_on - timedelta(days=settings.long_term_days)

    def long_enough(m: MedicationUse) -> bool:
        since = taken_since(m)
        return (since is not None and since <= cutoff and not m.is_injectable
                and not common.excepted_by_reason(m, EXCEPTIONS))

    chart = [m for m in common.bzras(common.outpatient(common.chart_orders(record)))
             if long_enough(m)]
    drafts = [m for m in common.bzras(common.outpatient(common.pool(record)))
              if m.is_draft and long_enough(m) and not any(common.same_drug(m, c) for c in chart)]
    return chart + drafts


def _planned(record: PatientRecord, meds: list[MedicationUse], settings: Settings) -> bool:
    if record.has_plan(PlanKind.TAPER_PLAN) or any(m.mentions_taper for m in meds):
        return True
    since = record.evaluated_on - timedelta(days=settings.review_interval_days)
    return any(p.kind is PlanKind.MEDICATION_REVIEW and p.recorded_on is not None
               and since <= p.recorded_on <= record.evaluated_on for p in record.plans)


def primary(meds: list[MedicationUse]) -> MedicationUse:
    """The drug to taper first: the largest diazepam-equivalent dose, else the longest used."""
    return max(meds, key=lambda m: (diazepam_eq(m) or -1.0,
                                    -(since.toordinal() if (since := taken_since(m)) else 0),
                                    m.ref))


def _findings(record: PatientRecord, settings: Settings
              ) -> tuple[list[MedicationUse], list[MedicationUse]] | None:
    """(long-term BZRAs, BZRA drafts in focus) when the card applies, else None."""
    if common.has_any_condition(record, EXCEPTIONS):
        return None
    meds = long_term(record, settings)
    if not meds or _planned(record, common.bzras(common.pool(record)), settings):
        return None
    drafts: list[MedicationUse] = []
    if record.hook in ("order-select", "order-sign"):
        focus = common.focus_refs(record)
        drafts = [m for m in common.bzras(common.outpatient(common.pool(record)))
                  if m.ref in focus and not common.excepted_by_reason(m, EXCEPTIONS)]
        if not drafts:
            return None
    return meds, drafts


def fires(record: PatientRecord, settings: Settings) -> bool:
    """Whether `evaluate` returns a card, without building its taper plan."""
    return _findings(record, settings) is not None


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One warning with a computed taper schedule offered as a draft CarePlan."""
    found = _findings(record, settings)
    if found is None:
        return []
    meds, drafts = found
    involved = meds + [d for d in drafts if d not in meds]
    target = primary(meds)
    schedule = build_schedule(target, record.evaluated_on, settings)
    # ASAM 2025 rec. 7: for a short-acting benzodiazepine, the long-acting switch as a second
    # suggestion (the engine refuses it where the recommendation does not apply).
    switched = (build_schedule(target, record.evaluated_on, settings,
                               switch_to=LONG_ACTING_TARGETS[0]) if schedule.steps else None)
    switched = switched if switched is not None and switched.steps else None
    name = common.short_name(target)
    first_day = taken_since(target)
    days = (record.evaluated_on - first_day).days if first_day else None
    today = record.evaluated_on

    summary = common.fit_summary(
        "Long-term {drugs} with no taper plan or review in "
        f"{settings.review_interval_days} days: plan a gradual taper", common.drug_names(meds))
    since = record.evaluated_on - timedelta(days=settings.review_interval_days)
    lines = [f"**Used for {settings.long_term_days} days or more, no taper plan and no review "
             f"since {common.day(since)}:**",
             common.bullet_list(meds, today)]
    new_drafts = [d for d in drafts if d not in meds]
    if new_drafts:
        lines += ["\n**Being ordered now:**", common.bullet_list(new_drafts, today)]
    unchecked = [common.not_checked(record, ("CarePlan", "ServiceRequest"),
                                    "an existing taper plan or medication review may not have "
                                    "been seen"),
                 common.not_checked(record, ("Condition",),
                                    "seizure disorder, withdrawal and end-of-life care (where "
                                    "this card does not apply) could not be checked")]
    lines += [f"\n{text}" for text in unchecked if text]
    duration = f" ({name}: {days} days)" if days else ""
    lines.append("\nNearly everyone taking a benzodiazepine regularly for more than a month is "
                 f"physically dependent (ASAM 2025){duration}. Review benefits and risks with "
                 "the patient at least every 3 months (ASAM 2025 rec. 1).")
    if len(meds) > 1:
        lines.append(f"Taper one drug at a time; proposed plan for **{name}** first.")
    lines += [f"\n**Proposed taper of {name}** (ASAM 2025 rec. 6):", schedule_markdown(schedule)]
    if switched is not None:
        first = switched.steps[0]
        spread = switched.plan.switch.range_mg if switched.plan and switched.plan.switch else None
        shown = (f"the table's columns give {common.mg(float(spread[0]))}-"
                 f"{common.mg(float(spread[1]))} mg; " if spread and spread[0] != spread[1]
                 else "")
        lines.append(f"\n**Alternative** (ASAM 2025 rec. 7): switch to {common.mg(first.dose_mg)} "
                     f"mg/day of {first.ingredient} first ({shown}equivalence approximate), "
                     "then taper (second suggestion).")
    lines.append("\n**Never stop abruptly**: withdrawal can include seizures (FDA 2020 boxed "
                 "warning; ASAM 2025 rec. 2). Offer CBT or CBT-I alongside the taper (rec. 10).")

    card_id = card_uuid(record, RULE_ID, involved)
    suggestion = create_suggestion(
        f"Propose a gradual taper plan for {name}",
        suggestion_uuid(card_id, f"taper-careplan|{target.ref}"),
        f"Draft a taper CarePlan for {name}.", careplan(record, schedule))
    alternative = create_suggestion(
        f"Switch {name} to {switched.switch_to}, then taper",
        suggestion_uuid(card_id, f"taper-careplan-switch|{target.ref}"),
        f"Draft a CarePlan: switch {name} to {switched.switch_to}, then taper.",
        careplan(record, switched)) if switched is not None else None
    if alternative is not None:   # the plain taper stays the recommended one
        alternative = alternative.model_copy(update={"isRecommended": False})
    suggestions = tuple(s for s in (suggestion, alternative) if s)
    return [Card(
        uuid=card_id,
        summary=summary,
        detail="\n".join(lines),
        indicator="warning",
        source=common.source(common.ASAM_2025, RULE_ID, TOPIC),
        suggestions=suggestions or None,
        # One taper plan at a time (ASAM: taper one drug at a time).
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=(common.ALREADY_TAPERING, common.PLAN_ELSEWHERE,
                         common.PATIENT_DECLINES_TAPER, common.SPECIALIST_MANAGED,
                         common.SNOOZE_3_MONTHS),
        links=_links(settings, target, record.evaluated_on),
    )]


def _links(settings: Settings, target: MedicationUse, starts: date) -> tuple[Link, ...]:
    """The FDA warning, and the taper planner (#16) for the drug: no patient data in its URL."""
    links = [Link(label=common.FDA_2020_BOXED[0], url=common.FDA_2020_BOXED[1], type="absolute")]
    url = planner_url(settings, target, starts)
    if url:
        links.insert(0, Link(label=PLANNER_LABEL, url=url, type="absolute"))
    return tuple(links)
