"""What a typed CodeableConcept means, read once per distinct concept.

Concepts are frozen structs, so each reading is remembered by the concept's content: the
same RxNorm product, SNOMED problem or status coding recurs across patients and calls. The
readings are the lenient reader's own functions (codings, classification, names).
"""

from __future__ import annotations

from functools import lru_cache

from msgspec import UNSET

from app.normalize import conditions as lenient_conditions
from app.normalize import medications, reasons
from app.normalize.fhir import Coding, code_strings
from app.normalize.order_scope import INPATIENT, OUTPATIENT
from app.normalize.typed import schema as s
from app.record import ConditionCategory
from app.terminology import DrugInfo

_SIZE = 16_384


def text(value: str | None) -> str | None:
    """app.normalize.fhir.opt_str for a value the decoder proved a string or null."""
    return (value.strip() or None) if value else None


def triples(concept: s.CodeableConcept | None) -> tuple[Coding, ...]:
    """app.normalize.fhir.codings over a typed CodeableConcept."""
    return read(concept)[0] if concept is not None else ()


@lru_cache(maxsize=_SIZE)
def read(concept: s.CodeableConcept) -> tuple[tuple[Coding, ...], str | None]:
    """(codings, text) as the lenient reader reads them."""
    raw = concept.coding
    if raw is None:
        if concept.code is UNSET and concept.system is UNSET:
            return (), text(concept.text)
        # UNSET is falsy: `or None` reads it as null.
        return (
            (text(concept.system or None), text(concept.code or None), text(concept.display)),
        ), text(concept.text)
    return tuple([(text(c.system), text(c.code), text(c.display)) for c in raw]), text(concept.text)


@lru_cache(maxsize=_SIZE)
def drug(
    concept: s.CodeableConcept | None, ref_display: str | None
) -> tuple[tuple[Coding, ...], str | None, DrugInfo | None, str]:
    """(codings, text, drug class info, name) of the drug a concept names."""
    found, label = read(concept) if concept is not None else ((), None)
    info = medications.classify_drug(found, label, ref_display)
    return found, label, info, medications.name_of(label, found, info, ref_display)


@lru_cache(maxsize=_SIZE)
def reason(concept: s.CodeableConcept) -> tuple[frozenset[ConditionCategory], str | None]:
    """(condition categories, name as written) of one reasonCode, as app/normalize/reasons.py
    reads it."""
    found, label = read(concept)
    categories = reasons._classify_reason(found, label) if (found or label) else frozenset()
    name = (
        label
        or next((d for _, _, d in found if d), None)
        or next((c for _, c, _ in found if c), None)
    )
    return categories, name


@lru_cache(maxsize=_SIZE)
def problem(
    concept: s.CodeableConcept | None,
) -> tuple[
    tuple[Coding, ...], str | None, str | None, frozenset[ConditionCategory], tuple[str, ...]
]:
    """(codings, text, name, categories, "system|code" strings) of a Condition.code."""
    found, label = read(concept) if concept is not None else ((), None)
    name = (
        label
        or next((d for _, _, d in found if d), None)
        or next((c for _, c, _ in found if c), None)
    )
    return found, label, name, lenient_conditions.classify(found, label), code_strings(found)


@lru_cache(maxsize=_SIZE)
def status(value: str | s.CodeableConcept | None) -> str | None:
    """app.normalize.fhir.status_code over a typed code or CodeableConcept."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() or None
    found, label = read(value)
    for _, code, _ in found:
        if code:
            return code.lower()
    return label.lower() if label else None


@lru_cache(maxsize=_SIZE)
def inpatient(category: tuple[s.CodeableConcept, ...] | None) -> bool:
    """order_scope.is_inpatient over typed categories."""
    words: set[str] = set()
    for concept in category or ():
        found, label = read(concept)
        for _, code, display in found:
            words.update(w.lower() for w in (code, display) if w)
        if label:
            words.add(label.lower())
    return INPATIENT in words and not words & OUTPATIENT
