"""Typed Condition, CarePlan and ServiceRequest -> facts, mirroring conditions.py and plans.py.

Conditions are read field by field in the lenient reader's order, so a field that cannot be read
raises Malformed exactly where the lenient reader raises it. Plans are few per call and their
reading is rich (kinds, end-of-life care, what a taper is about): the lenient reader reads the
decoded fields themselves (the body's values of every field it reads, which the schema declares).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from app.normalize import conditions as lenient_conditions
from app.normalize import plans as lenient_plans
from app.normalize.dates import parse_date
from app.normalize.errors import Malformed
from app.normalize.plans import ConditionIndex
from app.normalize.typed import concepts
from app.normalize.typed import schema as s
from app.normalize.typed.concepts import text
from app.record import ConditionFact, PlanFact

_JSON = msgspec.json.Decoder(dict[str, Any])  # what _as_read returns: an encoded Struct
_JSON_ENCODER = msgspec.json.Encoder()


def _abated_before(condition: s.Condition, today: date) -> bool:
    if condition.abatementBoolean is True:
        return True
    when = parse_date(condition.abatementDateTime, end=True)
    if when is None:
        period = condition.abatementPeriod
        when = parse_date(period.end if period else None, end=True)
    return when is not None and when < today


def _is_active(condition: s.Condition, today: date) -> bool:
    status = concepts.status(condition.clinicalStatus)
    if status in lenient_conditions.ACTIVE_CLINICAL:
        return True
    if status in lenient_conditions.INACTIVE_CLINICAL:
        return False
    return not _abated_before(condition, today)


def _onset(condition: s.Condition) -> date | None:
    onset = parse_date(condition.onsetDateTime)
    if onset is None:
        period = condition.onsetPeriod
        onset = parse_date(period.start if period else None)
    for value in (condition.recordedDate, condition.assertedDate, condition.dateRecorded):
        if onset is None:
            onset = parse_date(value)
    return onset


def read_condition(condition: s.Condition, today: date) -> ConditionFact | None:
    """conditions.read_condition: None for a refuted / entered-in-error Condition."""
    verification = condition.verificationStatus
    if (
        verification is not None
        and concepts.status(verification) in lenient_conditions.DISCARDED_VERIFICATION
    ):
        return None
    rid = text(condition.id)
    if not rid:
        raise Malformed("no id")
    found, label, name, categories, codes = concepts.problem(condition.code)
    if not label and not any(c or d for _, c, d in found):
        raise Malformed("no code")
    return ConditionFact(
        ref=f"Condition/{rid}",
        name=name or "unnamed condition",
        categories=categories,
        is_active=_is_active(condition, today),
        onset=_onset(condition),
        codes=codes,
    )


def _as_read(resource: s.CarePlan | s.ServiceRequest) -> dict[str, Any]:
    """The decoded fields as JSON objects and arrays (lists, as the lenient reader expects)."""
    return _JSON.decode(_JSON_ENCODER.encode(resource))


def care_plan_facts(
    plan: s.CarePlan, *, draft: bool = False, conditions: ConditionIndex
) -> list[PlanFact]:
    """plans.care_plan_facts over the decoded fields (a plan or two a call: read as dicts)."""
    return lenient_plans.care_plan_facts(_as_read(plan), draft=draft, conditions=conditions)


def service_request_facts(
    request: s.ServiceRequest, *, draft: bool = False, conditions: ConditionIndex
) -> list[PlanFact]:
    """plans.service_request_facts over the decoded fields."""
    return lenient_plans.service_request_facts(
        _as_read(request), draft=draft, conditions=conditions
    )
