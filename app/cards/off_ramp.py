"""A new benzodiazepine / Z-drug order with no stop date, or longer than 4 weeks: add an off-ramp.

ASAM 2025 (and the guidelines it summarises) limit new benzodiazepine use to 2-4 weeks
(settings.new_order_max_days); physical dependence can develop within weeks (ASAM rec. 3a).
"New" means a draft order in focus for a drug the patient does not already take long-term
(renewals of long-term use belong to the taper-plan card). Not for seizure disorders,
alcohol or benzodiazepine withdrawal, or palliative / end-of-life care; injectable
(periprocedural) and inpatient orders are out of scope. A draft without authoredOn counts from
the evaluation date (app/normalize/medications.py), so its supply or bounds give its length.

Data: needs Patient and MedicationRequest. Without Conditions the card still fires and says
that the exceptions could not be checked: it is an info card that asks for a stop date.
"""

from __future__ import annotations

from datetime import timedelta

from app.cards import common
from app.cards.base import card_uuid, focus_medications
from app.cards.taper_plan import long_term
from app.config import Settings
from app.models.cards import Card, Link
from app.record import ConditionCategory, MedicationUse, PatientRecord

RULE_ID = "off-ramp"
# Data this rule cannot run without (read by the registry); Condition is optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "New benzodiazepine or Z-drug order without an off-ramp"
EXCEPTIONS = (ConditionCategory.SEIZURE, ConditionCategory.WITHDRAWAL,
              ConditionCategory.END_OF_LIFE)
_REASON_TEXT = {
    ConditionCategory.INSOMNIA: "insomnia",
    ConditionCategory.ANXIETY: "anxiety or panic",
    ConditionCategory.SEVERE_GAD: "generalized anxiety disorder",
}


def _too_long(med: MedicationUse, settings: Settings) -> str | None:
    """Why the order lacks an off-ramp, or None when it has a short enough one."""
    if not med.has_stop_date:
        return "no stop date or duration"
    if med.start and med.end:
        days = (med.end - med.start).days
        if days > settings.new_order_max_days:
            return f"{days} days"
    return None


def _reason(med: MedicationUse, record: PatientRecord) -> str:
    found = [text for category, text in _REASON_TEXT.items()
             if category in med.reason_categories]
    if found:
        return f"ordered for {', '.join(found)}"
    recorded = [c.name for category in _REASON_TEXT for c in record.conditions_in(category)]
    if recorded:
        return f"no reason on the order; on the problem list: {', '.join(dict.fromkeys(recorded))}"
    return "no reason recorded: document why it is used"


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One info card naming each new open-ended or long BZRA draft order."""
    if common.has_any_condition(record, EXCEPTIONS):
        return []
    ongoing = long_term(record, settings)
    flagged: list[tuple[MedicationUse, str]] = []
    for med in common.bzras(common.outpatient(focus_medications(record))):
        if (not med.is_draft or med.is_injectable
                or common.excepted_by_reason(med, EXCEPTIONS)
                or any(common.same_drug(med, o) for o in ongoing)):
            continue
        problem = _too_long(med, settings)
        if problem:
            flagged.append((med, problem))
    if not flagged:
        return []
    meds = [m for m, _ in flagged]
    follow_up = record.evaluated_on + timedelta(days=settings.follow_up_days)
    stop_by = record.evaluated_on + timedelta(days=settings.new_order_max_days)
    lines = ["**New order(s) without an off-ramp:**"]
    lines += [f"- {common.describe(m, record.evaluated_on)}: {problem}; {_reason(m, record)}"
              for m, problem in flagged]
    unchecked = common.not_checked(record, ("Condition",),
                                   "seizure disorder, withdrawal and end-of-life care (where an "
                                   "off-ramp does not apply) could not be checked")
    if unchecked:
        lines.append(f"\n{unchecked}")
    lines += [
        "\n**Add an off-ramp** (ASAM 2025: limit new use to 2-4 weeks; dependence can start "
        "within weeks):",
        f"- Shortest duration: at most {settings.new_order_max_days} days (until "
        f"{common.day(stop_by)}), with no or limited refills.",
        f"- Follow-up by {common.day(follow_up)} to decide: stop, short taper, or a documented "
        "reason to continue.",
        "- Success looks like: the target symptom (e.g., sleep onset, panic attacks) is "
        "manageable with non-drug treatment such as CBT or CBT-I, and the drug is no longer "
        "needed.",
        "- If it has been taken daily for weeks, reduce gradually rather than stopping abruptly.",
    ]
    return [Card(
        uuid=card_uuid(record, RULE_ID, meds),
        summary=common.fit_summary("Add an off-ramp to new {drugs}: stop date within "
                                   f"{settings.new_order_max_days} days and a follow-up",
                                   common.drug_names(meds)),
        detail="\n".join(lines),
        indicator="info",
        source=common.source(common.ASAM_2025, RULE_ID, TOPIC),
        overrideReasons=(
            common.project_reason("stop-date-elsewhere",
                                  "Duration and follow-up agreed and documented elsewhere"),
            common.project_reason("longer-course-indicated",
                                  "Longer course indicated (reason documented)"),
            common.SPECIALIST_MANAGED,
        ),
        links=(Link(label=common.FDA_2020_BOXED[0], url=common.FDA_2020_BOXED[1],
                    type="absolute"),),
    )]
