"""Tiny builders for hand-made FHIR dicts used by the normalization tests."""

from __future__ import annotations

from typing import Any

from app.fhir.gathered import Gathered

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def concept(
    code: str | None = None,
    display: str | None = None,
    *,
    text: str | None = None,
    system: str = RXNORM,
) -> dict[str, Any]:
    cc: dict[str, Any] = {}
    if code or display:
        coding = {"system": system}
        if code:
            coding["code"] = code
        if display:
            coding["display"] = display
        cc["coding"] = [coding]
    if text:
        cc["text"] = text
    return cc


def dosage(
    *,
    text: str | None = None,
    value: float | None = None,
    unit: str | None = None,
    frequency: float | None = None,
    period: float | None = None,
    period_unit: str = "d",
    timing_code: str | None = None,
    as_needed: bool | None = None,
    bounds: tuple[str | None, str | None] | None = None,
    bounds_days: float | None = None,
    dose_range: tuple[float, float] | None = None,
    max_per_day: float | None = None,
    sequence: int | None = None,
) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if sequence is not None:
        d["sequence"] = sequence
    if text is not None:
        d["text"] = text
    repeat: dict[str, Any] = {}
    if frequency is not None:
        repeat["frequency"] = frequency
    if period is not None:
        repeat["period"] = period
        repeat["periodUnit"] = period_unit
    if bounds is not None:
        repeat["boundsPeriod"] = {
            k: v for k, v in zip(("start", "end"), bounds, strict=True) if v is not None
        }
    if bounds_days is not None:
        repeat["boundsDuration"] = {"value": bounds_days, "unit": "days", "code": "d"}
    timing: dict[str, Any] = {}
    if repeat:
        timing["repeat"] = repeat
    if timing_code is not None:
        timing["code"] = {"coding": [{"code": timing_code}]}
    if timing:
        d["timing"] = timing
    if as_needed is not None:
        d["asNeededBoolean"] = as_needed
    rate: dict[str, Any] = {}
    if value is not None:
        rate["doseQuantity"] = {"value": value, **({"unit": unit} if unit else {})}
    if dose_range is not None:
        rate["doseRange"] = {
            "low": {"value": dose_range[0], "unit": unit},
            "high": {"value": dose_range[1], "unit": unit},
        }
    if rate:
        d["doseAndRate"] = [rate]
    if max_per_day is not None:
        d["maxDosePerPeriod"] = {
            "numerator": {"value": max_per_day, "unit": unit or "tablet"},
            "denominator": {"value": 1, "unit": "d"},
        }
    return d


def med_request(
    id: str = "m1",
    *,
    code: str | None = None,
    display: str | None = None,
    text: str | None = None,
    status: str = "active",
    authored: str | None = "2024-01-01",
    dosages: list[dict[str, Any]] | None = None,
    validity: tuple[str | None, str | None] | None = None,
    supply: tuple[float, str] | None = None,
    repeats: int | None = None,
    notes: list[str] | None = None,
    reason_codes: list[dict[str, Any]] | None = None,
    reason_refs: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": id,
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
    }
    if code or display or text:
        r["medicationCodeableConcept"] = concept(code, display, text=text)
    if authored is not None:
        r["authoredOn"] = authored
    if dosages is not None:
        r["dosageInstruction"] = dosages
    dispense: dict[str, Any] = {}
    if validity is not None:
        dispense["validityPeriod"] = {
            k: v for k, v in zip(("start", "end"), validity, strict=True) if v is not None
        }
    if supply is not None:
        dispense["expectedSupplyDuration"] = {"value": supply[0], "unit": supply[1]}
    if repeats is not None:
        dispense["numberOfRepeatsAllowed"] = repeats
    if dispense:
        r["dispenseRequest"] = dispense
    if notes:
        r["note"] = [{"text": n} for n in notes]
    if reason_codes:
        r["reasonCode"] = reason_codes
    if reason_refs:
        r["reasonReference"] = [{"reference": ref} for ref in reason_refs]
    r.update(extra)
    return r


def condition(
    id: str = "c1",
    *,
    code: str | None = None,
    display: str | None = None,
    text: str | None = None,
    system: str = SNOMED,
    clinical: Any = "active",
    verification: str | None = "confirmed",
    onset: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "Condition",
        "id": id,
        "subject": {"reference": "Patient/p1"},
    }
    if code or display or text:
        r["code"] = concept(code, display, text=text, system=system)
    if isinstance(clinical, str):
        r["clinicalStatus"] = {"coding": [{"system": CLINICAL, "code": clinical}]}
    elif clinical is not None:
        r["clinicalStatus"] = clinical
    if verification is not None:
        r["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": verification}]}
    if onset is not None:
        r["onsetDateTime"] = onset
    r.update(extra)
    return r


def care_plan(
    id: str = "cp1",
    *,
    status: str = "active",
    title: str | None = None,
    category: str | None = None,
    activity: list[str] | None = None,
    start: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": id,
        "status": status,
        "intent": "plan",
        "subject": {"reference": "Patient/p1"},
    }
    if title:
        r["title"] = title
    if category:
        r["category"] = [{"text": category}]
    if activity:
        r["activity"] = [
            {"detail": {"code": {"text": a}, "status": "in-progress"}} for a in activity
        ]
    if start:
        r["period"] = {"start": start}
    r.update(extra)
    return r


def service_request(
    id: str = "sr1",
    *,
    status: str = "active",
    text: str = "",
    authored: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": id,
        "status": status,
        "intent": "order",
        "code": {"text": text},
        "subject": {"reference": "Patient/p1"},
    }
    if authored:
        r["authoredOn"] = authored
    r.update(extra)
    return r


def patient(birth: str | None = "1950-06-15", **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    if birth is not None:
        r["birthDate"] = birth
    r.update(extra)
    return r


def gathered(
    *,
    hook: str = "patient-view",
    patient_resource: dict[str, Any] | None = None,
    meds: list[Any] | None = None,
    conditions: list[Any] | None = None,
    care_plans: list[Any] | None = None,
    service_requests: list[Any] | None = None,
    drafts: list[Any] | None = None,
    selections: frozenset[str] = frozenset(),
    medications: dict[str, Any] | None = None,
    skipped: dict[str, int] | None = None,
) -> Gathered:
    return Gathered(
        patient_id="p1",
        hook=hook,
        patient=patient_resource,
        medication_requests=list(meds or []),
        conditions=list(conditions or []),
        care_plans=list(care_plans or []),
        service_requests=list(service_requests or []),
        medications=dict(medications or {}),
        draft_orders=list(drafts or []),
        selections=selections,
        skipped=dict(skipped or {}),
    )
