"""CarePlan and ServiceRequest -> PlanFact (taper plan, medication review, CBT-I referral).

``PlanFact.is_active`` means, per kind:
- TAPER_PLAN, MEDICATION_REVIEW, END_OF_LIFE_CARE: the plan is in force (status active, draft
  or on-hold). Hospice, palliative or terminal care is recognised by the condition terminology
  (the CDC therapies-indicating-end-of-life-care codes and words such as "hospice").
- CBTI_REFERRAL: CBT-I is on record (active, draft, on-hold, or completed): a patient who was
  referred or completed CBT-I should not be told again to get a referral.

A taper plan also records what it is about (``PlanFact.about``): the drug classes its words,
products and addressed conditions name, so an opioid taper is not read as a benzodiazepine one.

A revoked, cancelled or entered-in-error plan is no plan at all (no PlanFact): it was withdrawn
or never valid, so it neither suppresses a card nor counts as a review. A plan in
context.draftOrders (``draft=True``) is being ordered now and is in force whatever its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from app.normalize.dates import parse_date
from app.normalize.fhir import (
    Coding,
    as_dict,
    as_list,
    codings,
    concept_text,
    local_ref,
    opt_str,
    reference,
    resource_id,
)
from app.record import ConditionCategory, DrugClass, PlanFact, PlanKind
from app.terminology import classify_condition, classify_plan, plan_subjects

# Conditions of the record by reference, as app.normalize builds them (ref -> categories).
ConditionIndex = Mapping[str, frozenset[ConditionCategory]]
_NO_CONDITIONS: ConditionIndex = {}

IN_FORCE = frozenset({"active", "draft", "on-hold"})
ON_RECORD_CBTI = IN_FORCE | {"completed"}
# "cancelled" is not an R4 CarePlan/ServiceRequest status, but STU3 ReferralRequest and some
# EHR exports send it for a withdrawn referral.
DISCARDED = frozenset({"entered-in-error", "revoked", "cancelled"})


@lru_cache(maxsize=4096)
def _classify(triples: tuple[Coding, ...], text: str | None) -> PlanKind | None:
    return classify_plan(triples, text)


def _concept_kind(concept: Any) -> PlanKind | None:
    triples = codings(concept)
    text = concept_text(concept)
    return _classify(triples, text) if (triples or text) else None


@lru_cache(maxsize=4096)
def _end_of_life(triples: tuple[Coding, ...], text: str | None) -> bool:
    return ConditionCategory.END_OF_LIFE in classify_condition(triples, text)


def _care_kind(concepts: list[Any], texts: list[str | None]) -> PlanKind | None:
    """END_OF_LIFE_CARE when a concept or text is hospice, palliative or terminal care."""
    for concept in concepts:
        triples, text = codings(concept), concept_text(concept)
        if (triples or text) and _end_of_life(triples, text):
            return PlanKind.END_OF_LIFE_CARE
    return PlanKind.END_OF_LIFE_CARE if any(_end_of_life((), t) for t in texts if t) else None


def is_active_for(kind: PlanKind, status: str) -> bool:
    return status in (ON_RECORD_CBTI if kind == PlanKind.CBTI_REFERRAL else IN_FORCE)


def _facts(
    ref: str,
    kinds: set[PlanKind],
    status: str,
    recorded: date | None,
    about: frozenset[DrugClass] = frozenset(),
) -> list[PlanFact]:
    return [
        PlanFact(
            ref=ref,
            kind=kind,
            recorded_on=recorded,
            is_active=is_active_for(kind, status),
            about=about if kind is PlanKind.TAPER_PLAN else frozenset(),
        )
        for kind in sorted(kinds)
    ]


def _about(
    concepts: list[Any], texts: list[str | None], refs: list[Any], conditions: ConditionIndex
) -> frozenset[DrugClass]:
    """The drug classes a taper plan names: in its concepts and words, or by its conditions."""
    triples: list[Coding] = []
    words = [t for t in texts if t]
    for concept in concepts:
        triples += codings(concept)
        words += [t for t in (concept_text(concept),) if t]
    categories: set[ConditionCategory] = set()
    for item in refs:
        holder = as_dict(item) or {}
        words += [t for t in (opt_str(holder.get("display")),) if t]
        ref = reference(holder)
        key = (ref if ref in conditions else local_ref(ref, "Condition")) if ref else None
        if key and key in conditions:
            categories |= conditions[key]
    return plan_subjects(triples, words, categories)


def _status(resource: dict[str, Any], draft: bool) -> str:
    status = (opt_str(resource.get("status")) or "unknown").lower()
    return "draft" if draft and status not in DISCARDED else status


def care_plan_facts(
    resource: dict[str, Any], *, draft: bool = False, conditions: ConditionIndex = _NO_CONDITIONS
) -> list[PlanFact]:
    """One PlanFact per plan kind the CarePlan documents (none if it documents none)."""
    ref = f"CarePlan/{resource_id(resource)}"
    status = _status(resource, draft)
    if status in DISCARDED:
        return []
    categories = as_list(resource.get("category"))
    kinds: set[PlanKind | None] = {_concept_kind(c) for c in categories}
    texts = [opt_str(resource.get("title")), opt_str(resource.get("description"))]
    concepts, products = list(categories), []
    for item in as_list(resource.get("activity")):
        detail = as_dict((as_dict(item) or {}).get("detail")) or {}
        kinds.add(_concept_kind(detail.get("code")))
        texts.append(opt_str(detail.get("description")))
        concepts += [detail.get("code"), detail.get("productCodeableConcept")]
        products.append(detail.get("productReference"))
    kinds |= {_classify((), text) for text in texts if text}
    kinds.add(_care_kind(categories, [opt_str(resource.get("title"))]))
    period = as_dict(resource.get("period")) or {}
    recorded = parse_date(period.get("start")) or parse_date(resource.get("created"))
    found = {k for k in kinds if k is not None}
    about: frozenset[DrugClass] = frozenset()
    if PlanKind.TAPER_PLAN in found:
        notes = [opt_str((as_dict(n) or {}).get("text")) for n in as_list(resource.get("note"))]
        about = _about(
            concepts, texts + notes, products + as_list(resource.get("addresses")), conditions
        )
    return _facts(ref, found, status, recorded, about)


def service_request_facts(
    resource: dict[str, Any], *, draft: bool = False, conditions: ConditionIndex = _NO_CONDITIONS
) -> list[PlanFact]:
    """A PlanFact when the ServiceRequest's code is a plan kind (e.g. a CBT-I referral)."""
    ref = f"ServiceRequest/{resource_id(resource)}"
    status = _status(resource, draft)
    if status in DISCARDED:
        return []
    kind = _concept_kind(resource.get("code")) or _care_kind([resource.get("code")], [])
    occurrence = as_dict(resource.get("occurrencePeriod")) or {}
    recorded = (
        parse_date(resource.get("authoredOn"))
        or parse_date(resource.get("occurrenceDateTime"))
        or parse_date(occurrence.get("start"))
    )
    about: frozenset[DrugClass] = frozenset()
    if kind is PlanKind.TAPER_PLAN:
        about = _about(
            [resource.get("code"), *as_list(resource.get("reasonCode"))],
            [],
            as_list(resource.get("reasonReference")),
            conditions,
        )
    return _facts(ref, {kind} if kind else set(), status, recorded, about)
