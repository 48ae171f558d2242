"""Condition (R4, with STU3/DSTU2 quirks) -> ConditionFact."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from app.normalize.dates import parse_date
from app.normalize.errors import Malformed
from app.normalize.fhir import (
    Coding,
    as_dict,
    code_strings,
    codings,
    concept_name,
    concept_text,
    resource_id,
    status_code,
)
from app.record import ConditionCategory, ConditionFact
from app.terminology import classify_condition

# condition-clinical CodeSystem: these mean the problem is current.
ACTIVE_CLINICAL = frozenset({"active", "recurrence", "relapse"})
INACTIVE_CLINICAL = frozenset({"inactive", "remission", "resolved"})
# condition-ver-status: the diagnosis was never true, so it must not drive any rule.
DISCARDED_VERIFICATION = frozenset({"entered-in-error", "refuted"})


@lru_cache(maxsize=4096)
def classify(triples: tuple[Coding, ...], text: str | None) -> frozenset[ConditionCategory]:
    return classify_condition(triples, text)


def is_discarded(resource: dict[str, Any]) -> bool:
    """True for a Condition recorded in error or refuted (dropped without a skip count)."""
    return status_code(resource.get("verificationStatus")) in DISCARDED_VERIFICATION


def _abated_before(resource: dict[str, Any], today: date) -> bool:
    if resource.get("abatementBoolean") is True:
        return True
    when = parse_date(resource.get("abatementDateTime"), end=True)
    if when is None:
        period = as_dict(resource.get("abatementPeriod")) or {}
        when = parse_date(period.get("end"), end=True)
    return when is not None and when < today


def _is_active(resource: dict[str, Any], today: date) -> bool:
    status = status_code(resource.get("clinicalStatus"))
    if status in ACTIVE_CLINICAL:
        return True
    if status in INACTIVE_CLINICAL:
        return False
    # Missing or unknown status (allowed for some categories): active unless it has abated.
    return not _abated_before(resource, today)


def _onset(resource: dict[str, Any]) -> date | None:
    onset = parse_date(resource.get("onsetDateTime"))
    if onset is None:
        period = as_dict(resource.get("onsetPeriod")) or {}
        onset = parse_date(period.get("start"))
    for key in ("recordedDate", "assertedDate", "dateRecorded"):  # R4, STU3, DSTU2
        if onset is None:
            onset = parse_date(resource.get(key))
    return onset


def read_condition(resource: dict[str, Any], today: date) -> ConditionFact | None:
    """A ConditionFact, or None for a refuted / entered-in-error Condition."""
    return None if is_discarded(resource) else normalize_condition(resource, today)


def normalize_condition(resource: dict[str, Any], today: date) -> ConditionFact:
    """One Condition; raises Malformed if it has no id or no code."""
    ref = f"Condition/{resource_id(resource)}"
    code = as_dict(resource.get("code"))
    triples = codings(code)
    text = concept_text(code)
    if not text and not any(c or d for _, c, d in triples):
        raise Malformed("no code")
    return ConditionFact(
        ref=ref,
        name=concept_name(code) or "unnamed condition",
        categories=classify(triples, text),
        is_active=_is_active(resource, today),
        onset=_onset(resource),
        codes=code_strings(triples),
    )
