"""A typed MedicationRequest -> MedicationUse, mirroring app/normalize/medications.py.

Only the extraction differs: the decoder already checked every type, so the fields are read
directly. Classification, dates, doses and the MedicationUse itself come from the lenient
module's shared functions (``classified_use``, ``other_use``), fed the same values.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson
from msgspec import UNSET, Raw

from app.normalize.dates import parse_date
from app.normalize.dosage import Reading, product, read_instructions
from app.normalize.errors import Malformed
from app.normalize.fhir import Coding, as_dict, as_list, codings, concept_text, local_ref
from app.normalize.medications import (
    NO_REASONS,
    MedContext,
    classified_use,
    classify_drug,
    name_of,
    other_use,
)
from app.normalize.order_scope import order_dates
from app.normalize.reasons import Reasons
from app.normalize.typed import concepts
from app.normalize.typed import schema as s
from app.normalize.typed.chart import NotFast
from app.normalize.typed.concepts import text
from app.record import BZRA_CLASSES, ConditionCategory, MedicationUse
from app.terminology import DrugInfo


def parse_raw(value: Raw) -> Any:
    """A raw JSON field as the lenient reader sees it (orjson, as the lenient body parse)."""
    try:
        return orjson.loads(memoryview(value))
    except orjson.JSONDecodeError:
        raise NotFast from None  # e.g. an integer past 64 bits: the lenient parse refuses it


@lru_cache(maxsize=8192)
def _dosages(raw: bytes) -> tuple[dict[str, Any], ...]:
    """dosageInstruction as the lenient reader lists it, parsed once per distinct text (EHRs
    repeat a few hundred sigs); the dicts are shared and only ever read."""
    return tuple(d for d in (as_dict(i) for i in as_list(parse_raw(Raw(raw)))) if d)


@lru_cache(maxsize=8192)
def _reading(raw: bytes, strength_mg: float | None, strength_unit: str | None) -> Reading:
    """What the instructions say for this product, before today's phase is chosen."""
    return read_instructions(list(_dosages(raw)), product(strength_mg, strength_unit))


def _resolve(ref: str, order: s.MedicationRequest, ctx: MedContext) -> Any:
    """medications._resolve_medication: a contained (dict) or a typed Medication, or None."""
    if ref.startswith("#"):
        for item in as_list(order.contained):
            contained = as_dict(item)
            if (
                contained
                and contained.get("resourceType") == "Medication"
                and contained.get("id") == ref[1:]
            ):
                return contained
        return ctx.medications.get(ref)
    found = ctx.medications.get(ref)
    if found is None:
        local = local_ref(ref, "Medication")
        found = ctx.medications.get(local) if local else None
    return found


def _drug(
    order: s.MedicationRequest, ctx: MedContext
) -> tuple[tuple[Coding, ...], str | None, DrugInfo | None, str]:
    """(codings, text, drug class info, name) of the drug an order names."""
    if order.medicationCodeableConcept is not UNSET:
        return concepts.drug(order.medicationCodeableConcept, None)
    if order.medication is not UNSET:
        raise NotFast  # R5 CodeableReference
    holder = order.medicationReference
    if holder is None:
        raise Malformed("no medication")
    display, ref = text(holder.display), text(holder.reference)
    found = _resolve(ref, order, ctx) if ref else None
    if isinstance(found, dict):  # a contained Medication: read as the lenient path reads it
        code = as_dict(found.get("code"))
        found_triples, label = codings(code), concept_text(code)
        info = classify_drug(found_triples, label, display)
        return found_triples, label, info, name_of(label, found_triples, info, display)
    if found is not None and not isinstance(found, s.Medication):
        raise Malformed("expected an object")
    return concepts.drug(found.code if found is not None else None, display)


def _reasons(order: s.MedicationRequest, ctx: MedContext) -> Reasons:
    """reasons.order_reasons over a typed order: categories, and the reasons as named."""
    if order.reason is not UNSET or order.reasonCodeableConcept is not UNSET:
        raise NotFast  # R5 / STU3 reasons
    found: set[ConditionCategory] = set()
    named: list[str] = []
    for concept in order.reasonCode or ():
        categories, name = concepts.reason(concept)
        found |= categories
        if name:
            named.append(name)
    index, names = ctx.condition_categories, ctx.condition_names
    for item in order.reasonReference or ():
        ref = text(item.reference)
        key = (ref if ref in index else local_ref(ref, "Condition")) if ref else None
        if key and key in index:
            found |= index[key]
        name = text(item.display) or (names.get(key) if key else None)
        if name:
            named.append(name)
    return Reasons(frozenset(found), tuple(dict.fromkeys(named)))


def normalize_order(
    order: s.MedicationRequest, ctx: MedContext, *, is_draft: bool
) -> MedicationUse:
    """One typed MedicationRequest; raises Malformed where the lenient reader would."""
    rid = text(order.id)
    if not rid:
        raise Malformed("no id")
    ref = f"MedicationRequest/{rid}"
    found_triples, _, info, name = _drug(order, ctx)
    authored = parse_date(order.authoredOn)
    status = (text(order.status) or "unknown").lower()
    if info is None:
        return other_use(ref, name, found_triples, status, authored, ctx, is_draft=is_draft)
    raw = bytes(order.dosageInstruction)
    dosages = _dosages(raw)
    view = {"dispenseRequest": parse_raw(order.dispenseRequest), "dateEnded": order.dateEnded}
    dates = order_dates(view, dosages, authored, ctx.today if is_draft else None)
    reading = _reading(raw, info.strength_mg, info.strength_unit)
    relevant = info.drug_class in BZRA_CLASSES
    notes = [t for t in (text(n.text) for n in order.note or ()) if t] if relevant else []
    reasons = _reasons(order, ctx) if relevant else NO_REASONS
    return classified_use(
        ref,
        name,
        found_triples,
        info,
        status,
        authored,
        ctx,
        dosages,
        reading,
        dates,
        notes,
        reasons,
        concepts.inpatient(order.category),
        is_draft=is_draft,
    )
