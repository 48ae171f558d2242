"""FHIR resources offered in suggestions, validated as R4B models before they leave the service."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.resource import Resource as FhirResource
from fhir.resources.R4B.servicerequest import ServiceRequest

from app.models.cards import Action
from app.record import ConditionFact, MedicationUse, PatientRecord
from app.terminology import suggestion_code

_INSOMNIA_TEXT = "Insomnia"


def _prune(value: Any) -> Any:
    """Drop None and empty values: CDS Hooks JSON SHALL NOT carry nulls or empty elements."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [v for v in (_prune(item) for item in value) if v not in (None, [], {}, "")]
    return value


def validated(model: type[FhirResource], body: dict[str, Any]) -> dict[str, Any]:
    """`body` checked against its R4B model, returned as built (already JSON-ready).

    Validation is what guarantees a valid resource; re-dumping the model would cost more than
    the rule run itself, so the checked dict is emitted instead.
    """
    body = _prune(body)
    model.model_validate(body)
    return body


def _concept(key: str) -> dict[str, Any]:
    coding = dict(suggestion_code(key))
    return {"coding": [coding], "text": coding.get("display") or key}


def naloxone_request(record: PatientRecord) -> dict[str, Any]:
    """A draft order for rescue naloxone nasal spray (CDC 2022 rec. 8)."""
    return validated(MedicationRequest, {
        "resourceType": "MedicationRequest",
        "status": "draft",
        # The clinician accepting the suggestion makes it their own draft order.
        "intent": "order",
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "medicationCodeableConcept": _concept("rescue-naloxone"),
        "dosageInstruction": [{
            "text": ("For suspected opioid overdose: spray into one nostril, call emergency "
                     "services; may repeat with a new device in the other nostril after "
                     "2-3 minutes if there is no response."),
            "asNeededBoolean": True,
        }],
    })


def _reason(condition: ConditionFact | None) -> dict[str, Any]:
    if condition is None:
        return {"text": _INSOMNIA_TEXT}
    codings = []
    for pair in condition.codes:
        system, _, code = pair.partition("|")
        if system and code:
            codings.append({"system": system, "code": code})
    concept: dict[str, Any] = {"text": condition.name or _INSOMNIA_TEXT}
    if codings:
        concept["coding"] = codings
    return concept


def cbti_referral(record: PatientRecord, insomnia: ConditionFact | None) -> dict[str, Any]:
    """A draft referral to cognitive behavioural therapy for insomnia (ACP 2016; AASM 2021)."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{record.patient_id}"},
        "code": _concept("cbti-referral"),
        "reasonCode": [_reason(insomnia)],
        "patientInstruction": ("Cognitive behavioural therapy for insomnia (in person, group or "
                               "digital), usually 4-8 sessions."),
    }
    if insomnia is not None and "/" in insomnia.ref:
        body["reasonReference"] = [{"reference": insomnia.ref}]
    return validated(ServiceRequest, body)


def delete_draft(med: MedicationUse) -> Action:
    return Action(type="delete", description=f"Remove the draft order for {med.name}.",
                  resourceId=med.ref)
