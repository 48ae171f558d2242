"""FHIR resources offered in suggestions, checked before they leave the service.

Each builder marks the values it copies from EHR data (an EhrValues); a resource whose marked
values break the FHIR primitive rules is left out. With ``full_suggestion_validation`` on, every
resource is validated as an R4B model instead (app/cards/fhir_values.py says why both agree).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.resource import Resource as FhirResource
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydantic import ValidationError

from app.cards.fhir_values import EhrValues
from app.models.cards import Action, Suggestion
from app.observability.metrics import INVALID_SUGGESTIONS
from app.record import ConditionFact, MedicationUse, PatientRecord
from app.terminology import suggestion_code

log = logging.getLogger("app.cards")
_INSOMNIA_TEXT = "Insomnia"
# FHIR R4 primitive types (datatypes.html): `code` has no leading, trailing or double whitespace;
# `uri` has no whitespace at all.
_FHIR_CODE = re.compile(r"[^\s]+(\s[^\s]+)*")
_FHIR_URI = re.compile(r"\S+")
# Set per rule run from settings.full_suggestion_validation (app/cards/__init__.py).
FULL_VALIDATION: ContextVar[bool] = ContextVar("full_suggestion_validation", default=False)


def coding(
    system: str | None, code: str | None, display: str | None = None
) -> dict[str, str] | None:
    """A Coding copied from EHR data, or None when its system or code is not valid FHIR."""
    if not system or not code or not _FHIR_URI.fullmatch(system) or not _FHIR_CODE.fullmatch(code):
        return None
    return {"system": system, "code": code} | ({"display": display} if display else {})


def _prune(value: Any) -> Any:
    """Drop None and empty values: CDS Hooks JSON SHALL NOT carry nulls or empty elements."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [v for v in (_prune(item) for item in value) if v not in (None, [], {}, "")]
    return value


def validated(
    model: type[FhirResource], body: dict[str, Any], ehr: EhrValues
) -> dict[str, Any] | None:
    """`body` as built when its EHR values are valid FHIR, else None (logged and counted).

    The builder owns the structure, so only ``ehr`` is checked; with full validation on, the
    whole resource is validated as its R4B model. The checked dict is emitted either way. An
    invalid resource (EHR data we did not foresee) drops only its suggestion: the card's
    warning still reaches the clinician.
    """
    body = _prune(body)
    if FULL_VALIDATION.get():
        try:
            model.model_validate(body)
        except ValidationError as error:
            # Counts only: validation messages quote the values, which may be patient data.
            _left_out(model, error.error_count())
            return None
    elif not ehr.ok:
        _left_out(model, 1)
        return None
    return body


def _left_out(model: type[FhirResource], errors: int) -> None:
    log.error(
        "suggested resource failed R4B validation and was left out",
        extra={"resource": model.__name__, "errors": errors},
    )
    INVALID_SUGGESTIONS.labels(model.__name__).inc()


def _concept(key: str) -> dict[str, Any]:
    coding = dict(suggestion_code(key))
    return {"coding": [coding], "text": coding.get("display") or key}


def naloxone_request(record: PatientRecord) -> dict[str, Any] | None:
    """A draft order for rescue naloxone nasal spray (CDC 2022 rec. 8)."""
    ehr = EhrValues()
    return validated(
        MedicationRequest,
        {
            "resourceType": "MedicationRequest",
            "status": "draft",
            # The clinician accepting the suggestion makes it their own draft order.
            "intent": "order",
            "subject": {"reference": ehr.text(f"Patient/{record.patient_id}")},
            "medicationCodeableConcept": _concept("rescue-naloxone"),
            "dosageInstruction": [
                {
                    "text": (
                        "For suspected opioid overdose: spray into one nostril, call emergency "
                        "services; may repeat with a new device in the other nostril after "
                        "2-3 minutes if there is no response."
                    ),
                    "asNeededBoolean": True,
                }
            ],
        },
        ehr,
    )


def _reason(condition: ConditionFact | None, ehr: EhrValues) -> dict[str, Any]:
    if condition is None:
        return {"text": _INSOMNIA_TEXT}
    codings = []
    for pair in condition.codes:
        system, _, code = pair.partition("|")
        found = ehr.coding(coding(system, code))
        if found:
            codings.append(found)
    concept: dict[str, Any] = {"text": ehr.string(condition.name) or _INSOMNIA_TEXT}
    if codings:
        concept["coding"] = codings
    return concept


def cbti_referral(record: PatientRecord, insomnia: ConditionFact | None) -> dict[str, Any] | None:
    """A draft referral to cognitive behavioural therapy for insomnia (ACP 2016; AASM 2021)."""
    ehr = EhrValues()
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": ehr.text(f"Patient/{record.patient_id}")},
        "code": _concept("cbti-referral"),
        "reasonCode": [_reason(insomnia, ehr)],
        "patientInstruction": (
            "Cognitive behavioural therapy for insomnia (in person, group or "
            "digital), usually 4-8 sessions."
        ),
    }
    if insomnia is not None and "/" in insomnia.ref:
        body["reasonReference"] = [{"reference": ehr.text(insomnia.ref)}]
    return validated(ServiceRequest, body, ehr)


def create_suggestion(
    label: str, uuid: str, description: str, resource: dict[str, Any] | None
) -> Suggestion | None:
    """A recommended one-action "create" suggestion; None when its resource was left out."""
    if resource is None:
        return None
    return Suggestion(
        label=label,
        uuid=uuid,
        isRecommended=True,
        actions=(Action(type="create", description=description, resource=resource),),
    )


def delete_draft(med: MedicationUse) -> Action:
    return Action(
        type="delete", description=f"Remove the draft order for {med.name}.", resourceId=med.ref
    )
