"""Why an order was written: reasonCode / reasonReference (R4), reasonCodeableConcept (STU3),
reason (R5 CodeableReference) -> condition categories and the reasons as the chart names them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from app.normalize.fhir import (
    Coding,
    as_dict,
    as_list,
    codings,
    concept_name,
    local_ref,
    opt_str,
    reference,
)
from app.record import ConditionCategory
from app.terminology import classify_condition


class Reasons(NamedTuple):
    categories: frozenset[ConditionCategory]
    names: tuple[str, ...]  # as written on the order or its Condition, for card text


@lru_cache(maxsize=4096)
def _classify_reason(triples: tuple[Coding, ...], text: str | None) -> frozenset[ConditionCategory]:
    return classify_condition(triples, text)


def order_reasons(
    resource: dict[str, Any],
    categories: dict[str, frozenset[ConditionCategory]],
    names: dict[str, str],
) -> Reasons:
    """The order's reasons; ``categories`` and ``names`` index the record's Conditions by ref."""
    found: set[ConditionCategory] = set()
    named: list[str] = []
    concepts = as_list(resource.get("reasonCode")) + as_list(resource.get("reasonCodeableConcept"))
    refs = as_list(resource.get("reasonReference"))
    for item in as_list(resource.get("reason")):  # R5 CodeableReference
        holder = as_dict(item) or {}
        if holder.get("concept") is not None:
            concepts.append(holder["concept"])
        if holder.get("reference") is not None:
            refs.append(holder["reference"])
    for concept in concepts:
        triples = codings(concept)
        text = opt_str((as_dict(concept) or {}).get("text"))
        if triples or text:
            found |= _classify_reason(triples, text)
        name = concept_name(concept)
        if name:
            named.append(name)
    for item in refs:
        ref = reference(item)
        key = (ref if ref in categories else local_ref(ref, "Condition")) if ref else None
        if key and key in categories:
            found |= categories[key]
        display = opt_str((as_dict(item) or {}).get("display"))
        name = display or (names.get(key) if key else None)
        if name:
            named.append(name)
    return Reasons(frozenset(found), tuple(dict.fromkeys(named)))
