"""Opioid + benzodiazepine / other CNS depressant (CDC 2022 rec. 11; FDA 2016 boxed warning).

Scope decisions (documented):
- Pairs whose CNS depressant is injectable are skipped (so are injectable-only pairs):
  parenteral sedation such as a midazolam injection is periprocedural and monitored (a Beers
  2023 exception), outside the CDC outpatient scope (the CDC logic counts only ambulatory
  community prescriptions). An injectable opioid with an oral benzodiazepine the patient
  takes at home still fires: the home sedative is the ongoing exposure.
- An unknown age (no birthDate) is treated as adult: the CDC exclusion is for patients known
  to be under 18, and missing data must not silence a respiratory-depression warning.
- Removing a draft order is offered only for a new start (no active chart order of the same
  drug) that is not opioid use disorder treatment: dropping a renewal would be an abrupt stop.
- Orders categorised inpatient are not outpatient use and are left out (CDC: community
  orders only); orders with no category count (see app/normalize/medications.py).
- Data: needs Patient and MedicationRequest only. Without Conditions the card still fires
  (a missing overdose warning is worse than one that an exclusion would have silenced) and
  names the exclusions and risk factors it could not check.
- An MME total that includes a PRN maximum or the top of a range is shown as "up to" and
  still escalates at settings.mme_critical: the order allows that much (CDC 2022 rec. 8).
- Buprenorphine or methadone treating opioid use disorder (MOUD): the card says not to withhold
  or reduce it (FDA 2017 Drug Safety Communication; CDC 2022 rec. 11), works on the
  benzodiazepine, offers naloxone, and shows no MME for it (CDC's MME is for pain treatment;
  its table has no buprenorphine factor). With MOUD alone the card's source is FDA 2017.
- Naloxone is offered only when no naloxone order is active or among the draft orders,
  selected or not (the clinician is already ordering it). An inpatient naloxone order is no
  rescue kit at home and does not count.
"""

from __future__ import annotations

from typing import NamedTuple

from app.cards import budget, common, overlap_text, scope
from app.cards.base import card_uuid, current_medications, suggestion_uuid
from app.cards.resources import create_suggestion, delete_draft, naloxone_request
from app.config import Settings
from app.models.cards import Card, Indicator, Link, Suggestion
from app.record import (
    BZRA_CLASSES,
    CNS_DEPRESSANT_CLASSES,
    ConditionCategory,
    DoseConfidence,
    DrugClass,
    MedicationUse,
    PatientRecord,
)

RULE_ID = "opioid-benzodiazepine-overlap"
# Data this rule cannot run without (read by the registry); Condition is optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "Opioid with benzodiazepine or other CNS depressant"
# CDC 2022 rec. 11 implementation considerations: do not withhold buprenorphine or methadone
# for opioid use disorder from patients taking benzodiazepines or other CNS depressants.
MOUD_INGREDIENTS = frozenset({"buprenorphine", "methadone"})
# CDC 2022 general inclusion criteria (OpioidCDSRoutines): active cancer treatment and
# end-of-life care (a Condition, or hospice / palliative care ordered or planned: CDC's End of
# Life Assessment also reads hospice encounters) are excluded; sickle cell disease is excluded
# whatever its status (see _excluded).
# Naloxone risk factors that make the card critical (CDC 2022 rec. 8 logic; ASAM 2025 key
# takeaway 1a). MME and age thresholds come from settings.
_CRITICAL_CONDITIONS = {
    ConditionCategory.SLEEP_DISORDERED_BREATHING: "sleep-disordered breathing",
    ConditionCategory.OPIOID_USE_DISORDER: "opioid use disorder",
    ConditionCategory.SUBSTANCE_USE_DISORDER: "a substance use disorder",
}
# The FDA Drug Safety Communications of 2016-08-31 and 2017-09-20 (their stable ucm ids redirect
# to the current pages). 2017: buprenorphine and methadone for opioid use disorder "should not
# be withheld from patients taking benzodiazepines or other drugs that depress the CNS"; manage
# the combination (educate, taper or avoid the benzodiazepine where possible, coordinate care).
_FDA_2016 = (
    "FDA 2016 boxed warning: opioids with benzodiazepines",
    "https://www.fda.gov/Drugs/DrugSafety/ucm518473.htm",
)
FDA_2017 = (
    "FDA 2017 Drug Safety Communication: do not withhold buprenorphine or methadone "
    "for opioid use disorder from patients taking benzodiazepines",
    "https://www.fda.gov/Drugs/DrugSafety/ucm575307.htm",
)


def _excluded(record: PatientRecord, settings: Settings) -> bool:
    if record.age is not None and record.age < settings.adult_age:
        return True
    if record.has_condition(ConditionCategory.SICKLE_CELL, active_only=False):
        return True
    return record.has_condition(ConditionCategory.CANCER) or scope.end_of_life(record)


def _is_moud(med: MedicationUse, record: PatientRecord) -> bool:
    if med.is_moud:
        return True
    return med.ingredient in MOUD_INGREDIENTS and record.has_condition(
        ConditionCategory.OPIOID_USE_DISORDER
    )


def _meds(record: PatientRecord) -> list[MedicationUse]:
    return common.outpatient(common.pool(record))


def _pairs(record: PatientRecord) -> list[tuple[MedicationUse, MedicationUse]]:
    meds = _meds(record)
    focus = common.focus_refs(record)
    opioids = [m for m in meds if m.drug_class is DrugClass.OPIOID]
    others = [m for m in meds if m.drug_class in CNS_DEPRESSANT_CLASSES]
    return [
        (o, d)
        for o in opioids
        for d in others
        if not d.is_injectable and (o.ref in focus or d.ref in focus)
    ]


def _mme(opioids: list[MedicationUse]) -> tuple[float, list[MedicationUse], bool]:
    """Total MME/day over opioids with a known value (CDC 2022 factors), those without, and
    whether the total is an upper bound (a PRN maximum or the top of a range is in it)."""
    known = [m for m in opioids if m.mme_per_day is not None]
    total = sum(m.mme_per_day for m in known if m.mme_per_day is not None)
    upper = any(m.dose_confidence is not DoseConfidence.EXACT for m in known)
    return total, [m for m in opioids if m.mme_per_day is None], upper


def _unique(meds: list[MedicationUse]) -> list[MedicationUse]:
    seen: dict[str, MedicationUse] = {}
    for med in meds:
        seen.setdefault(med.ref, med)
    return list(seen.values())


def _naloxone(record: PatientRecord) -> str | None:
    """Where rescue naloxone already is: an active order, or a draft (selected or not)."""
    kits = [
        m
        for m in common.outpatient(current_medications(record))
        if m.drug_class is DrugClass.RESCUE_NALOXONE
    ]
    if not kits:
        return None
    return "being ordered now" if all(m.is_draft for m in kits) else "on an active order"


class _Finding(NamedTuple):
    """What the card is about and how severe it is, before any text or suggestion is built."""

    pairs: list[tuple[MedicationUse, MedicationUse]]
    opioids: list[MedicationUse]
    depressants: list[MedicationUse]
    moud: list[MedicationUse]
    pain_opioids: list[MedicationUse]
    total: float
    unknown: list[MedicationUse]
    upper: bool
    risks: list[str]
    indicator: Indicator


def _assess(record: PatientRecord, settings: Settings) -> _Finding | None:
    """The card's finding, or None when the rule does not fire."""
    if _excluded(record, settings):
        return None
    pairs = _pairs(record)
    if not pairs:
        return None
    opioids = _unique([o for o, _ in pairs])
    depressants = _unique([d for _, d in pairs])
    moud = [o for o in opioids if _is_moud(o, record)]
    pain_opioids = [
        o for o in _meds(record) if o.drug_class is DrugClass.OPIOID and not _is_moud(o, record)
    ]
    total, unknown, upper = _mme(pain_opioids)
    up_to = "up to " if upper else ""
    risks = [
        text for category, text in _CRITICAL_CONDITIONS.items() if record.has_condition(category)
    ]
    if total >= settings.mme_critical:
        risks.insert(
            0, f"{up_to}{common.mg(total)} MME/day (>= {common.mg(settings.mme_critical)})"
        )
    if record.age is not None and record.age >= settings.geriatric_age:
        risks.append(f"age {record.age}")
    return _Finding(
        pairs,
        opioids,
        depressants,
        moud,
        pain_opioids,
        total,
        unknown,
        upper,
        risks,
        "critical" if risks else "warning",
    )


def verdict(record: PatientRecord, settings: Settings) -> str | None:
    """The indicator of the card `evaluate` returns, or None; builds no text or suggestion."""
    found = _assess(record, settings)
    return None if found is None else found.indicator


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One card when an opioid and a CNS depressant are taken or ordered together."""
    found = _assess(record, settings)
    if found is None:
        return []
    pairs, opioids, depressants, moud = found.pairs, found.opioids, found.depressants, found.moud
    benzo = any(d.drug_class is DrugClass.BENZODIAZEPINE for d in depressants)
    sedative = any(d.drug_class in BZRA_CLASSES for d in depressants)

    kind = "benzodiazepine" if benzo else "other CNS depressant"
    names = common.drug_names(opioids) + common.drug_names(depressants)
    if moud and not [o for o in opioids if o not in moud]:
        summary = common.fit_summary(
            f"Opioid use disorder treatment + {kind}: {{drugs}}. Keep the treatment; overdose risk",
            names,
        )
    else:
        summary = common.fit_summary(f"Opioid + {kind}: {{drugs}}. Overdose risk", names)

    total_line = overlap_text.mme_line(found.pain_opioids, found.total, found.unknown, found.upper)
    # The MME risk repeats the total when a total line states it: its short form drops it.
    risks_short = (
        [f"MME/day >= {common.mg(settings.mme_critical)}", *found.risks[1:]]
        if total_line and found.total >= settings.mme_critical
        else found.risks
    )
    unchecked = [
        common.not_checked(record, ("Condition",), what)
        for what in (
            "cancer, end-of-life care, sickle cell disease, sleep apnea, substance use disorder",
            "exclusions and risk conditions",
        )
    ]
    # Paragraphs after the evidence, each as its forms, longest first: budget.fitted shortens
    # the evidence, then these in order, as far as the 100-word budget needs (issue #11). The
    # total, the risks, the advice and naloxone are always there.
    paragraphs: list[list[str]] = [[total_line]] if total_line else []
    if found.risks:
        paragraphs.append([f"**Higher risk:** {', '.join(r)}." for r in (found.risks, risks_short)])
    paragraphs.append([text for text in unchecked if text])
    paragraphs.append(
        [overlap_text.advice(moud, bool(found.pain_opioids), benzo, _naloxone(record))]
    )
    paragraphs.append([common.NEVER_STOP] if sedative else [])
    detail = budget.fitted(
        [
            list(overlap_text.evidence_forms(opioids, depressants, moud, record.evaluated_on)),
            *([["\n" + text] for text in forms] for forms in paragraphs if forms),
        ]
    )

    card_id = card_uuid(record, RULE_ID, opioids + depressants)
    suggestions = _suggestions(record, card_id, pairs, moud)
    guideline = FDA_2017 if moud and not found.pain_opioids else common.CDC_2022
    return [
        Card(
            uuid=card_id,
            summary=summary,
            detail=detail,
            indicator=found.indicator,
            source=common.source(guideline, RULE_ID, TOPIC),
            suggestions=tuple(suggestions) or None,
            # Naloxone and removing a draft are independent and may both be accepted.
            selectionBehavior="any" if suggestions else None,
            overrideReasons=(
                common.BENEFITS_OUTWEIGH_RISKS,
                common.project_reason(
                    "naloxone-on-hand", "Patient already has naloxone (not on this record)"
                ),
                common.project_reason(
                    "moud-coordinated", "Coordinated with the opioid use disorder prescriber"
                ),
                common.ALREADY_TAPERING,
                common.SNOOZE_3_MONTHS,
            ),
            links=_links(guideline, bool(moud)),
        )
    ]


def _links(guideline: tuple[str, str], moud: bool) -> tuple[Link, ...]:
    """The guidelines behind the card that its ``source`` does not already name."""
    shown = (
        [common.CDC_2022, _FDA_2016]
        if guideline is FDA_2017
        else [_FDA_2016, *([FDA_2017] if moud else [])]
    )
    return tuple(Link(label=label, url=url, type="absolute") for label, url in shown)


def _suggestions(
    record: PatientRecord,
    card_id: str,
    pairs: list[tuple[MedicationUse, MedicationUse]],
    moud: list[MedicationUse],
) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    if _naloxone(record) is None:
        naloxone = create_suggestion(
            "Order naloxone nasal spray (rescue)",
            suggestion_uuid(card_id, "rescue-naloxone"),
            "Draft an order for rescue naloxone.",
            naloxone_request(record),
        )
        if naloxone:
            suggestions.append(naloxone)
    if record.hook in ("order-select", "order-sign"):
        focus = common.focus_refs(record)
        chart = common.chart_orders(record)
        members = _unique([m for pair in pairs for m in pair])
        for med in members:
            if (
                med.ref in focus
                and med.is_draft
                and med not in moud
                and not any(common.same_drug(med, c) for c in chart)
            ):
                suggestions.append(
                    Suggestion(
                        label=f"Remove the draft {common.short_name(med)} order",
                        uuid=suggestion_uuid(card_id, f"delete|{med.ref}"),
                        actions=(delete_draft(med),),
                    )
                )
    return suggestions


class DailyMme(NamedTuple):
    total: float  # MME/day over the pain opioids with a known value
    unknown: int  # pain opioids whose MME could not be computed
    upper_bound: bool  # a PRN maximum or the top of a range is in the total


def daily_mme(record: PatientRecord) -> DailyMme:
    """The card's MME total (outpatient pain opioids, MOUD left out), for the population dry
    run (app/bulk), so its MME distribution is the one the cards state."""
    total, unknown, upper = _mme(
        [o for o in _meds(record) if o.drug_class is DrugClass.OPIOID and not _is_moud(o, record)]
    )
    return DailyMme(total, len(unknown), upper)
