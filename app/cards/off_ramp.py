"""A new benzodiazepine / Z-drug order with no stop date, or longer than 4 weeks: add an off-ramp.

ASAM 2025 (and the guidelines it summarises) limit new benzodiazepine use to 2-4 weeks
(settings.new_order_max_days); physical dependence can develop within weeks (ASAM rec. 3a).
"New" means a draft order in focus for a drug the patient does not already take long-term
(renewals of long-term use belong to the taper-plan card). Not in palliative / end-of-life
care, and not for a benzodiazepine used for a seizure disorder or for alcohol /
benzodiazepine withdrawal (app/cards/scope.py; Z-drugs are not excepted). A long-acting
benzodiazepine draft that is itself part of a taper (its text, reason or stepped-down dosage
says so: the ASAM 2025 rec. 7 switch) is the off-ramp, and gets no card. Injectable
(periprocedural) and inpatient orders are out of scope. A draft without authoredOn counts from
the evaluation date, so its supply, bounds or the course its sig states ("x 30 days") give its
length (app/normalize/order_scope.py); the card states that length as the order gives it.

Data: needs Patient and MedicationRequest. Without Conditions the card still fires and says
that the exceptions could not be checked: it is an info card that asks for a stop date.
"""

from __future__ import annotations

from datetime import timedelta

from app.cards import common, scope
from app.cards.base import card_uuid, focus_medications
from app.cards.taper_plan import BENZO_EXCEPTIONS, long_term
from app.config import Settings
from app.models.cards import Card, Link
from app.record import ConditionCategory, DrugClass, MedicationUse, PatientRecord
from app.taper import products as taper_products

RULE_ID = "off-ramp"
# Data this rule cannot run without (read by the registry); Condition is optional.
REQUIRES = frozenset({"Patient", "MedicationRequest"})
TOPIC = "New benzodiazepine or Z-drug order without an off-ramp"
_REASON_TEXT = {
    ConditionCategory.INSOMNIA: "insomnia",
    ConditionCategory.ANXIETY: "anxiety or panic",
    ConditionCategory.SEVERE_GAD: "generalized anxiety disorder",
}


def _too_long(med: MedicationUse, settings: Settings) -> str | None:
    """What the order says about its length when it has no off-ramp, or None when it has."""
    if not med.has_stop_date:
        return "no stop date or duration"
    if med.start and med.end:
        days = (med.end - med.start).days
        if days > settings.new_order_max_days:
            return (
                f"{days} days (to {common.day(med.end)}), longer than {settings.new_order_max_days}"
            )
    return None


def _reason(med: MedicationUse, record: PatientRecord) -> str:
    found = [text for category, text in _REASON_TEXT.items() if category in med.reason_categories]
    if found:
        return f"ordered for {', '.join(found)}"
    if med.reason_text:
        return f"reason on the order: {common.md_text(med.reason_text, 60)}"
    recorded = [c.name for category in _REASON_TEXT for c in record.conditions_in(category)]
    if recorded:
        listed = common.md_text(", ".join(dict.fromkeys(recorded)), 60)
        return f"no reason on the order; on the problem list: {listed}"
    return "no reason recorded: document why it is used"


def _taper_step(med: MedicationUse) -> bool:
    """A long-acting benzodiazepine ordered as part of a taper (ASAM 2025 rec. 7)."""
    drug = taper_products.drug(med.ingredient or "")
    return (
        med.mentions_taper
        and med.drug_class is DrugClass.BENZODIAZEPINE
        and drug is not None
        and drug.acting == "long"
    )


def _flagged(record: PatientRecord, settings: Settings) -> list[tuple[MedicationUse, str]]:
    """Each new open-ended or long BZRA draft order in focus, with what is wrong with it."""
    if scope.end_of_life(record):
        return []
    ongoing = long_term(record, settings)
    flagged: list[tuple[MedicationUse, str]] = []
    for med in common.bzras(common.outpatient(focus_medications(record))):
        if (
            not med.is_draft
            or med.is_injectable
            or _taper_step(med)
            or scope.benzo_exception(med, record, BENZO_EXCEPTIONS) is not None
            or any(common.same_drug(med, o) for o in ongoing)
        ):
            continue
        problem = _too_long(med, settings)
        if problem:
            flagged.append((med, problem))
    return flagged


def verdict(record: PatientRecord, settings: Settings) -> str | None:
    """The indicator of the card `evaluate` returns, or None; builds no text."""
    return "info" if _flagged(record, settings) else None


def evaluate(record: PatientRecord, settings: Settings) -> list[Card]:
    """One info card naming each new open-ended or long BZRA draft order."""
    flagged = _flagged(record, settings)
    if not flagged:
        return []
    meds = [m for m, _ in flagged]
    follow_up = common.day(record.evaluated_on + timedelta(days=settings.follow_up_days))
    stop_by = common.day(record.evaluated_on + timedelta(days=settings.new_order_max_days))
    lines = [
        f"- {common.describe(m, record.evaluated_on)}: {problem}; {_reason(m, record)}"
        for m, problem in flagged[: common.MAX_LISTED]
    ]
    if len(flagged) > common.MAX_LISTED:
        lines.append(f"- and {len(flagged) - common.MAX_LISTED} more")
    unchecked = common.not_checked(
        record, ("Condition",), "seizure disorder, withdrawal, end-of-life care"
    )
    if unchecked:
        lines.append("\n" + unchecked)
    lines += [
        "\n**Add an off-ramp** (ASAM 2025: new use 2-4 weeks; dependence can start within weeks):",
        f"- At most {settings.new_order_max_days} days (to {stop_by}), no or few refills",
        f"- Follow-up by {follow_up}: stop, short taper, or a documented reason to continue",
        "- Success: the symptom is managed without the drug (e.g. CBT-I, CBT)",
    ]
    return [
        Card(
            uuid=card_uuid(record, RULE_ID, meds),
            summary=common.fit_summary(
                "Add an off-ramp to new {drugs}: stop date within "
                f"{settings.new_order_max_days} days and a follow-up",
                common.drug_names(meds),
            ),
            detail="\n".join(lines),
            indicator="info",
            source=common.source(common.ASAM_2025, RULE_ID, TOPIC),
            overrideReasons=(
                common.project_reason(
                    "stop-date-elsewhere", "Duration and follow-up agreed and documented elsewhere"
                ),
                common.project_reason(
                    "longer-course-indicated", "Longer course indicated (reason documented)"
                ),
                common.SPECIALIST_MANAGED,
            ),
            links=(
                Link(label=common.FDA_2020_BOXED[0], url=common.FDA_2020_BOXED[1], type="absolute"),
            ),
        )
    ]
