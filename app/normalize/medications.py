"""MedicationRequest (R4; also STU3/R5 shapes) and DSTU2 MedicationOrder -> MedicationUse."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from app.normalize.dates import parse_date
from app.normalize.dosage import Reading, dose_on, product, read_instructions
from app.normalize.errors import Malformed
from app.normalize.fhir import (
    RXNORM_SYSTEMS,
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
from app.normalize.order_scope import is_inpatient, order_dates
from app.normalize.reasons import Reasons, order_reasons
from app.record import (
    BZRA_CLASSES,
    ConditionCategory,
    DrugClass,
    MedicationUse,
)
from app.terminology import (
    DrugInfo,
    classify_medication,
    diazepam_equivalent,
    mme_factor,
)

# Statuses under which an order is still in force (CDC Opioid CDS Common treats "active"
# as current; "on-hold" is a paused order the patient may resume).
ACTIVE_STATUSES = frozenset({"active", "on-hold"})
UNNAMED = "unnamed medication"
# Words that document a taper or dose reduction in an order note or instruction.
_TAPER_RE = re.compile(
    r"\btaper|\bwean|\bdose reduction|\bdecrease (?:the dose )?by\b"
    r"|\breduce (?:the dose )?by\b",
    re.IGNORECASE,
)
_TRANSDERMAL_RE = re.compile(r"transdermal|\bpatch", re.IGNORECASE)
NO_REASONS = Reasons(frozenset(), ())


@dataclass(frozen=True, slots=True)
class MedContext:
    """What normalizing one order needs besides the order itself."""

    today: date
    max_age_days: int
    medications: dict[str, dict[str, Any]]  # Gathered.medications
    condition_categories: dict[str, frozenset[ConditionCategory]]  # ref -> categories
    selections: frozenset[str]
    condition_names: dict[str, str] = field(default_factory=dict)  # ref -> name, for reasons


@lru_cache(maxsize=4096)
def _classify_drug(triples: tuple[Coding, ...], text: str | None) -> DrugInfo | None:
    return classify_medication(triples, text)


def mentions_taper(text: str | None) -> bool:
    return text is not None and _TAPER_RE.search(text) is not None


def _resolve_medication(
    ref: str, resource: dict[str, Any], medications: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if ref.startswith("#"):
        for item in as_list(resource.get("contained")):
            contained = as_dict(item)
            if (
                contained
                and contained.get("resourceType") == "Medication"
                and contained.get("id") == ref[1:]
            ):
                return contained
        return medications.get(ref)
    found = medications.get(ref)
    if found is None:
        local = local_ref(ref, "Medication")
        found = medications.get(local) if local else None
    return as_dict(found)


def _drug_concept(
    resource: dict[str, Any], medications: dict[str, dict[str, Any]]
) -> tuple[Any, str | None]:
    """(CodeableConcept of the drug or None, reference display) from medication[x]."""
    if "medicationCodeableConcept" in resource:
        return as_dict(resource["medicationCodeableConcept"]), None
    ref_holder: Any = resource.get("medicationReference")
    if ref_holder is None and "medication" in resource:  # R5 CodeableReference
        holder = as_dict(resource["medication"]) or {}
        if holder.get("concept") is not None:
            return as_dict(holder["concept"]), None
        ref_holder = holder.get("reference")
    if ref_holder is None:
        raise Malformed("no medication")
    ref_dict = as_dict(ref_holder) or {}
    display = opt_str(ref_dict.get("display"))
    ref = reference(ref_dict)
    medication = _resolve_medication(ref, resource, medications) if ref else None
    return (as_dict(medication.get("code")) if medication else None), display


def name_of(
    concept_txt: str | None,
    triples: tuple[Coding, ...],
    info: DrugInfo | None,
    ref_display: str | None,
) -> str:
    """The most readable label: the order's own text, an RxNorm display, any display, ..."""
    rx_display = next((d for s, _, d in triples if d and s in RXNORM_SYSTEMS), None)
    any_display = next((d for _, _, d in triples if d), None)
    any_code = next((c for _, c, _ in triples if c), None)
    for candidate in (
        concept_txt,
        rx_display,
        any_display,
        ref_display,
        info.ingredient if info else None,
        any_code,
    ):
        if candidate:
            return candidate
    return UNNAMED


def _notes(resource: dict[str, Any]) -> list[str]:
    raw = resource.get("note")
    if isinstance(raw, str):  # DSTU2 MedicationOrder.note is a string
        return [raw]
    out = []
    for item in as_list(raw):
        note = as_dict(item)
        text = opt_str(note.get("text")) if note else None
        if text:
            out.append(text)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def normalize_order(resource: dict[str, Any], ctx: MedContext, *, is_draft: bool) -> MedicationUse:
    """One MedicationRequest or MedicationOrder; raises Malformed if it cannot be read."""
    rtype = resource.get("resourceType")
    ref = f"{rtype}/{resource_id(resource)}"
    concept, ref_display = _drug_concept(resource, ctx.medications)
    triples = codings(concept)
    text = concept_text(concept)
    info = classify_drug(triples, text, ref_display)
    name = name_of(text, triples, info, ref_display)
    authored = parse_date(
        resource.get("authoredOn") if rtype == "MedicationRequest" else resource.get("dateWritten")
    )
    status = (opt_str(resource.get("status")) or "unknown").lower()
    if info is None:
        return other_use(ref, name, triples, status, authored, ctx, is_draft=is_draft)
    dosages = [d for d in (as_dict(i) for i in as_list(resource.get("dosageInstruction"))) if d]
    dates = order_dates(resource, dosages, authored, ctx.today if is_draft else None)
    reading = read_instructions(dosages, product(info.strength_mg, info.strength_unit))
    # Reasons and taper notes are read only for sedatives: no rule looks at them elsewhere.
    relevant = info.drug_class in BZRA_CLASSES
    reasons = (
        order_reasons(resource, ctx.condition_categories, ctx.condition_names)
        if relevant
        else NO_REASONS
    )
    return classified_use(
        ref,
        name,
        triples,
        info,
        status,
        authored,
        ctx,
        dosages,
        reading,
        dates,
        _notes(resource) if relevant else [],
        reasons,
        is_inpatient(resource.get("category")),
        is_draft=is_draft,
    )


def classify_drug(
    triples: tuple[Coding, ...], text: str | None, ref_display: str | None
) -> DrugInfo | None:
    """The drug an order names, from its codings, its text, else its reference's display."""
    return (
        _classify_drug(triples, text or ref_display) if (triples or text or ref_display) else None
    )


def _rxnorm(triples: tuple[Coding, ...]) -> str | None:
    for system, code, _ in triples:
        if code and system in RXNORM_SYSTEMS:
            return code
    return None


def other_use(
    ref: str,
    name: str,
    triples: tuple[Coding, ...],
    status: str,
    authored: date | None,
    ctx: MedContext,
    *,
    is_draft: bool,
) -> MedicationUse:
    """A drug outside our classes: no rule reads it beyond its name and status, so its dates,
    dose and notes are not read (most of a real medication list; this is the hot path)."""
    return MedicationUse(
        ref=ref,
        name=name,
        drug_class=DrugClass.OTHER,
        rxnorm=_rxnorm(triples),
        status=status,
        start=authored,
        is_draft=is_draft,
        is_selected=is_draft and ref in ctx.selections,
        is_active=(
            not is_draft
            and status in ACTIVE_STATUSES
            and (authored is None or (ctx.today - authored).days <= ctx.max_age_days)
        ),
        authored_on=authored,
    )


def classified_use(
    ref: str,
    name: str,
    triples: tuple[Coding, ...],
    info: DrugInfo,
    status: str,
    authored: date | None,
    ctx: MedContext,
    dosages: Sequence[dict[str, Any]],
    reading: Reading,
    dates: tuple[date | None, date | None, bool, date | None],
    note_texts: list[str],
    reasons: Reasons,
    inpatient: bool,
    *,
    is_draft: bool,
) -> MedicationUse:
    """An order of a drug class the rules read, from what both readers extracted."""
    start, end, has_stop, ended = dates
    # A draft starts today; the start tells which phase of a sequenced (taper) order is today's.
    dose = dose_on(reading, start or (ctx.today if is_draft else None), ctx.today)
    drug_class, ingredient = info.drug_class, info.ingredient

    mme = None
    if drug_class is DrugClass.OPIOID and ingredient and dose.daily_mg is not None:
        transdermal = dose.continuous or bool(_TRANSDERMAL_RE.search(name))
        factor = mme_factor(ingredient, transdermal=transdermal)
        if factor is not None:
            # CDC 2022 lists transdermal fentanyl per mcg/h applied, not per mg/day.
            mme = (dose.daily_mg / 24 * 1000 * factor) if transdermal else dose.daily_mg * factor
    diazepam_eq = None
    if drug_class in BZRA_CLASSES and ingredient and dose.daily_mg is not None:
        per_10mg = diazepam_equivalent(ingredient)
        if per_10mg:
            diazepam_eq = dose.daily_mg / per_10mg * 10

    # The EHR's status beats our estimate (CDC Opioid CDS "Active Ambulatory ... Rx": status
    # active, authoredOn within 2 years, no end date consulted): a supply that has run out
    # (PRN use, leftover tablets) or a planned end does not end an active order. Only a
    # recorded stop (DSTU2 dateEnded) does. We also count on-hold orders (a paused order).
    ref_date = authored or start
    is_active = (
        not is_draft
        and status in ACTIVE_STATUSES
        and (ended is None or ended >= ctx.today)
        and (ref_date is None or (ctx.today - ref_date).days <= ctx.max_age_days)
    )

    relevant = drug_class in BZRA_CLASSES
    # A taper is documented by the order's note, instructions or reason ("switch to diazepam
    # for taper"), or by a dosage whose phases step the dose down.
    taper_texts = [*note_texts, *reasons.names] if relevant else []
    for dosage in dosages if relevant else ():
        taper_texts += [
            t for t in (opt_str(dosage.get("text")), opt_str(dosage.get("patientInstruction"))) if t
        ]

    return MedicationUse(
        ref=ref,
        name=name,
        drug_class=drug_class,
        ingredient=ingredient,
        rxnorm=_rxnorm(triples),
        strength_mg=info.strength_mg,
        strength_unit=info.strength_unit,
        daily_dose_mg=_round(dose.daily_mg),
        dose_text=dose.text,
        dose_confidence=dose.confidence,
        daily_dose_low_mg=_round(dose.low_mg),
        as_needed=dose.as_needed,
        dose_unreadable=dose.unreadable,
        start=start,
        end=end,
        has_stop_date=has_stop,
        status=status,
        is_draft=is_draft,
        is_selected=is_draft and ref in ctx.selections,
        is_active=is_active,
        is_injectable=info.is_injectable,
        is_moud=info.is_moud,
        mme_per_day=_round(mme),
        diazepam_eq_mg_per_day=_round(diazepam_eq),
        reason_categories=reasons.categories,
        reason_text="; ".join(reasons.names) or None,
        mentions_taper=relevant and (dose.steps_down or mentions_taper("\n".join(taper_texts))),
        authored_on=authored,
        is_inpatient=inpatient,
    )
