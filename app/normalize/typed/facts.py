"""Typed Condition, CarePlan and ServiceRequest -> facts, mirroring conditions.py and plans.py.

Each function evaluates in the lenient reader's order, so a field that cannot be read raises
Malformed exactly where the lenient reader raises it.
"""

from __future__ import annotations

from datetime import date

from app.normalize import conditions as lenient_conditions
from app.normalize import plans as lenient_plans
from app.normalize.dates import parse_date
from app.normalize.errors import Malformed
from app.normalize.typed import concepts
from app.normalize.typed import schema as s
from app.normalize.typed.concepts import text
from app.record import ConditionFact, PlanFact, PlanKind


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
    if verification is not None and \
            concepts.status(verification) in lenient_conditions.DISCARDED_VERIFICATION:
        return None
    rid = text(condition.id)
    if not rid:
        raise Malformed("no id")
    found, label, name, categories, codes = concepts.problem(condition.code)
    if not label and not any(c or d for _, c, d in found):
        raise Malformed("no code")
    return ConditionFact(
        ref=f"Condition/{rid}", name=name or "unnamed condition", categories=categories,
        is_active=_is_active(condition, today), onset=_onset(condition), codes=codes)


def _status(value: str | None, draft: bool) -> str:
    status = (text(value) or "unknown").lower()
    return "draft" if draft and status not in lenient_plans.DISCARDED else status


def care_plan_facts(plan: s.CarePlan, *, draft: bool = False) -> list[PlanFact]:
    rid = text(plan.id)
    if not rid:
        raise Malformed("no id")
    status = _status(plan.status, draft)
    if status in lenient_plans.DISCARDED:
        return []
    kinds: set[PlanKind | None] = {concepts.plan_kind(c) for c in plan.category or ()}
    texts = [text(plan.title), text(plan.description)]
    for activity in plan.activity or ():
        detail = activity.detail
        kinds.add(concepts.plan_kind(detail.code if detail else None))
        texts.append(text(detail.description) if detail else None)
    kinds |= {lenient_plans.classify((), label) for label in texts if label}
    period = plan.period
    recorded = parse_date(period.start if period else None) or parse_date(plan.created)
    return lenient_plans.facts(f"CarePlan/{rid}", {k for k in kinds if k is not None}, status,
                               recorded)


def service_request_facts(request: s.ServiceRequest, *, draft: bool = False) -> list[PlanFact]:
    rid = text(request.id)
    if not rid:
        raise Malformed("no id")
    status = _status(request.status, draft)
    if status in lenient_plans.DISCARDED:
        return []
    kind = concepts.plan_kind(request.code)
    occurrence = request.occurrencePeriod
    recorded = (parse_date(request.authoredOn) or parse_date(request.occurrenceDateTime)
                or parse_date(occurrence.start if occurrence else None))
    return lenient_plans.facts(f"ServiceRequest/{rid}", {kind} if kind else set(), status,
                               recorded)
