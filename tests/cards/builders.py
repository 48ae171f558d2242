"""Small builders for hand-made PatientRecords, and the checks every generated card must pass."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from app.cards.base import TOPIC_SYSTEM
from app.config import Settings
from app.models.cards import Card
from app.record import (
    ConditionCategory,
    ConditionFact,
    DoseConfidence,
    DrugClass,
    MedicationUse,
    PatientRecord,
    PlanFact,
    PlanKind,
)
from tests.cards.markdown import DETAIL_WORDS_MAX, markdown_problems, rendered_words

TODAY = date(2025, 6, 2)
C = ConditionCategory

_CLASSES = {
    "alprazolam": DrugClass.BENZODIAZEPINE,
    "lorazepam": DrugClass.BENZODIAZEPINE,
    "clonazepam": DrugClass.BENZODIAZEPINE,
    "diazepam": DrugClass.BENZODIAZEPINE,
    "temazepam": DrugClass.BENZODIAZEPINE,
    "midazolam": DrugClass.BENZODIAZEPINE,
    "zolpidem": DrugClass.Z_DRUG,
    "eszopiclone": DrugClass.Z_DRUG,
    "oxycodone": DrugClass.OPIOID,
    "morphine": DrugClass.OPIOID,
    "hydrocodone": DrugClass.OPIOID,
    "buprenorphine": DrugClass.OPIOID,
    "methadone": DrugClass.OPIOID,
    "gabapentin": DrugClass.GABAPENTINOID,
    "pregabalin": DrugClass.GABAPENTINOID,
    "phenobarbital": DrugClass.BARBITURATE,
    "naloxone": DrugClass.RESCUE_NALOXONE,
    "lisinopril": DrugClass.OTHER,
}


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


def med(
    ingredient: str,
    *,
    ref: str | None = None,
    days_ago: int | None = None,
    no_start: bool = False,
    daily: float | None = None,
    dose_text: str | None = None,
    strength: float | None = None,
    name: str | None = None,
    draft: bool = False,
    selected: bool = False,
    status: str | None = None,
    active: bool = True,
    injectable: bool = False,
    moud: bool = False,
    mme: float | None = None,
    stop_in_days: int | None = None,
    reasons: tuple[ConditionCategory, ...] = (),
    mentions_taper: bool = False,
    drug_class: DrugClass | None = None,
    confidence: DoseConfidence | None = None,
    low: float | None = None,
    as_needed: bool | None = None,
    episode_days_ago: int | None = None,
    inpatient: bool = False,
) -> MedicationUse:
    """A medication order started ``days_ago`` (default: today for drafts, 60 days otherwise).

    ``daily`` is read exactly unless ``confidence`` says otherwise (then it is the top of the
    range or the PRN maximum, with ``low`` the bottom of a range).
    """
    if confidence is None:
        confidence = DoseConfidence.UNKNOWN if daily is None else DoseConfidence.EXACT
    if days_ago is None:
        days_ago = 0 if draft else 60
    start = None if no_start else TODAY - timedelta(days=days_ago)
    end = (start or TODAY) + timedelta(days=stop_in_days) if stop_in_days is not None else None
    return MedicationUse(
        ref=ref or f"MedicationRequest/{ingredient}{'-draft' if draft else ''}",
        name=name or f"{ingredient} oral tablet",
        drug_class=drug_class or _CLASSES[ingredient],
        ingredient=ingredient,
        strength_mg=strength,
        strength_unit="mg" if strength else None,
        daily_dose_mg=daily,
        dose_confidence=confidence,
        daily_dose_low_mg=low,
        as_needed=(confidence is DoseConfidence.AS_NEEDED_MAX if as_needed is None else as_needed),
        dose_text=dose_text,
        start=start,
        end=end,
        has_stop_date=stop_in_days is not None,
        status=status or ("draft" if draft else "active" if active else "stopped"),
        is_draft=draft,
        is_selected=selected,
        is_active=active or draft,
        is_injectable=injectable,
        is_moud=moud,
        mme_per_day=mme,
        reason_categories=frozenset(reasons),
        mentions_taper=mentions_taper,
        authored_on=start,
        episode_start=(
            TODAY - timedelta(days=episode_days_ago) if episode_days_ago is not None else None
        ),
        is_inpatient=inpatient,
    )


def cond(
    category: ConditionCategory,
    *,
    active: bool = True,
    name: str | None = None,
    codes: tuple[str, ...] = (),
) -> ConditionFact:
    return ConditionFact(
        ref=f"Condition/{category.value}",
        name=name or category.value,
        categories=frozenset({category}),
        is_active=active,
        codes=codes,
    )


def plan(kind: PlanKind, *, days_ago: int | None = 10, active: bool = True) -> PlanFact:
    recorded = TODAY - timedelta(days=days_ago) if days_ago is not None else None
    return PlanFact(ref=f"CarePlan/{kind.value}", kind=kind, recorded_on=recorded, is_active=active)


def record(
    *,
    age: int | None = 45,
    meds: list[MedicationUse] | tuple = (),
    conditions: list[ConditionFact] | tuple = (),
    plans: list[PlanFact] | tuple = (),
    hook: str = "patient-view",
    patient_id: str = "p1",
    missing: tuple[str, ...] = (),
) -> PatientRecord:
    birth = None if age is None else TODAY.replace(year=TODAY.year - age)
    return PatientRecord(
        patient_id=patient_id,
        hook=hook,
        evaluated_on=TODAY,
        birth_date=birth,
        age=age,
        medications=tuple(meds),
        conditions=tuple(conditions),
        plans=tuple(plans),
        missing_data=frozenset(missing),
    )


_RESOURCES = {
    "MedicationRequest": MedicationRequest,
    "CarePlan": CarePlan,
    "ServiceRequest": ServiceRequest,
}


def check_card(card: Card, rule_id: str, patient_ref: str = "Patient/p1") -> None:
    """What every card must satisfy, whatever the rule."""
    again = Card.model_validate(card.model_dump(mode="json", exclude_none=True))
    assert again == card
    assert len(card.summary) < 140
    assert card.detail
    # Read in fifteen seconds (issue #11), and valid Markdown.
    assert rendered_words(card.detail) <= DETAIL_WORDS_MAX, card.detail
    assert markdown_problems(card.detail) == [], card.detail
    assert card.uuid
    assert card.source.url and card.source.url.startswith("https://")
    assert card.source.topic is not None
    assert card.source.topic.system == TOPIC_SYSTEM and card.source.topic.code == rule_id
    assert card.overrideReasons and all(r.display for r in card.overrideReasons)
    text = f"{card.summary} {card.detail}".lower()
    assert "stop abruptly" not in text.replace("never stop abruptly", "").replace(
        "not stop the sedative abruptly", ""
    ).replace("rather than stopping abruptly", "")
    if card.suggestions:
        assert card.selectionBehavior in ("at-most-one", "any")
        for suggestion in card.suggestions:
            assert suggestion.uuid
            for action in suggestion.actions or ():
                if action.type == "create":
                    resource = action.resource or {}
                    model = _RESOURCES[resource["resourceType"]]
                    model.model_validate(resource)
                    assert resource["status"] == "draft"
                    assert resource["subject"] == {"reference": patient_ref}
                else:
                    assert action.type == "delete" and action.resourceId


def resources(card: Card, resource_type: str) -> list[dict[str, Any]]:
    return [
        a.resource
        for s in card.suggestions or ()
        for a in s.actions or ()
        if a.resource and a.resource.get("resourceType") == resource_type
    ]


def deletes(card: Card) -> list[str]:
    return [
        a.resourceId
        for s in card.suggestions or ()
        for a in s.actions or ()
        if a.type == "delete" and a.resourceId
    ]
