"""Typed hook bodies (msgspec): the envelope and only the FHIR fields the readers use.

Every field the lenient reader (app/normalize, app/fhir/gather.py) looks at is declared here, so
a body either decodes with each such field well typed, or fails to decode and goes the lenient
way. Fields no rule reads are skipped by the decoder without being built. tests/normalize/typed
checks that the lenient reader touches no field left out here.

Choices:
- Types are as R4 states them; another shape (a lone object where a list belongs, a number for
  a string, a DSTU2 resource, a type not listed) fails the decode: the lenient path reads it.
- ``UNSET`` marks fields whose mere presence changes the lenient reading (``"patient" in
  resource``), or fields read only on rare shapes (R5 ``medication``), which the typed
  normalizer hands to the lenient path instead of reading.
- Dosages and dispense requests stay raw JSON: the dose reader reads them as dicts, exactly as
  the lenient path does, and only for the few orders whose drug class needs a dose.
- Fields the lenient reader only tests with ``is True`` or ``isinstance`` are ``Any``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, Raw, Struct, UnsetType

from app.fhir.prefetch import PREFETCH

# A raw field the body did not carry (msgspec does not allow Raw in a union with None).
ABSENT = Raw(b"null")


class _Type(Struct, gc=False, kw_only=True):
    """Decoded data holds no cycles: not tracked by the garbage collector."""


class _FrozenType(Struct, gc=False, kw_only=True, frozen=True):
    """A hashable _Type. Type checkers reject a frozen Struct on a mutable base (msgspec allows
    it), and do not inherit frozen: subclasses say frozen=True again."""


class Coding(_FrozenType, frozen=True):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class CodeableConcept(_FrozenType, frozen=True):
    """Frozen (hashable): what a concept means is read once per distinct concept."""

    coding: tuple[Coding, ...] | None = None
    text: str | None = None
    # A Coding sent where a CodeableConcept belongs is read as one coding.
    system: str | None | UnsetType = UNSET
    code: str | None | UnsetType = UNSET
    display: str | None = None


class Reference(_Type):
    reference: str | None = None
    display: str | None = None


class Period(_Type):
    start: str | None = None
    end: str | None = None


class Annotation(_Type):
    text: str | None = None


class _Resource(_Type, tag_field="resourceType"):
    id: str | None = None
    subject: Reference | None = None
    # DSTU2 names the patient here; its presence alone changes the patient check.
    patient: Reference | None | UnsetType = UNSET


class Patient(_Resource, tag="Patient"):
    birthDate: str | None = None


class Medication(_Resource, tag="Medication"):
    code: CodeableConcept | None = None


class OperationOutcome(_Resource, tag="OperationOutcome"):
    pass


class MedicationRequest(_Resource, tag="MedicationRequest"):
    status: str | None = None
    doNotPerform: Any = None
    authoredOn: str | None = None
    dateEnded: str | None = None
    medicationCodeableConcept: CodeableConcept | None | UnsetType = UNSET
    medicationReference: Reference | None = None
    contained: list[Any] | None = None
    dosageInstruction: Raw = ABSENT
    dispenseRequest: Raw = ABSENT
    reasonCode: list[CodeableConcept] | None = None
    reasonReference: list[Reference] | None = None
    note: list[Annotation] | None = None
    category: tuple[CodeableConcept, ...] | None = None
    # R5 and DSTU2 shapes: present -> the lenient reader takes the whole call.
    medication: Raw | UnsetType = UNSET
    reason: Raw | UnsetType = UNSET
    reasonCodeableConcept: Raw | UnsetType = UNSET


class Condition(_Resource, tag="Condition"):
    code: CodeableConcept | None = None
    clinicalStatus: str | CodeableConcept | None = None
    verificationStatus: str | CodeableConcept | None = None
    abatementBoolean: Any = None
    abatementDateTime: str | None = None
    abatementPeriod: Period | None = None
    onsetDateTime: str | None = None
    onsetPeriod: Period | None = None
    recordedDate: str | None = None
    assertedDate: str | None = None
    dateRecorded: str | None = None


class ActivityDetail(_Type):
    code: CodeableConcept | None = None
    description: str | None = None
    productCodeableConcept: CodeableConcept | None = None
    productReference: Reference | None = None


class Activity(_Type):
    detail: ActivityDetail | None = None


class CarePlan(_Resource, tag="CarePlan"):
    status: str | None = None
    category: list[CodeableConcept] | None = None
    title: str | None = None
    description: str | None = None
    activity: list[Activity] | None = None
    period: Period | None = None
    created: str | None = None
    note: list[Annotation] | None = None
    addresses: list[Reference] | None = None


class ServiceRequest(_Resource, tag="ServiceRequest"):
    status: str | None = None
    code: CodeableConcept | None = None
    authoredOn: str | None = None
    occurrenceDateTime: str | None = None
    occurrencePeriod: Period | None = None
    reasonCode: list[CodeableConcept] | None = None
    reasonReference: list[Reference] | None = None


ChartResource = (
    Patient
    | Medication
    | OperationOutcome
    | MedicationRequest
    | Condition
    | CarePlan
    | ServiceRequest
)
DraftResource = Medication | MedicationRequest | CarePlan | ServiceRequest


class BundleLink(_Type):
    relation: Any = None
    url: Any = None


class Entry(_Type):
    fullUrl: Any = None
    resource: ChartResource | None = None


class Bundle(_Type, tag_field="resourceType", tag="Bundle"):
    entry: list[Entry] | None = None
    link: list[BundleLink] | None = None


class DraftEntry(_Type):
    fullUrl: Any = None
    # Raw: draft orders of other types (NutritionOrder, ...) are common and no rule reads
    # them; each resource is decoded on its own (app/normalize/typed/chart.py).
    resource: Raw = ABSENT


class Kind(_Type):
    """Just the resourceType of an object (for resources of types the schema leaves out)."""

    resourceType: Any = None


class DraftOrders(_Type, tag_field="resourceType", tag="Bundle"):
    entry: list[DraftEntry] = msgspec.field(default_factory=list)


def _prefetch_struct() -> type[Struct]:
    """One field per prefetch key the services declare; a key we do not ask for falls back."""
    fields = []
    for key, template in PREFETCH.items():
        kind = Patient if template.startswith("Patient/") else None
        value = (kind | Bundle) if kind else Bundle
        fields.append((key, value | None | UnsetType, UNSET))
    return msgspec.defstruct("Prefetch", fields, kw_only=True, gc=False, forbid_unknown_fields=True)


Prefetch = _prefetch_struct()


class Context(_Type):
    # Validated by the same pydantic models as the lenient path (app/models/hooks.py).
    userId: Any = UNSET
    patientId: Any = UNSET
    encounterId: Any = UNSET
    selections: Any = UNSET
    draftOrders: DraftOrders | UnsetType = UNSET


class HookBody(_Type, kw_only=True):
    hook: Any = UNSET
    hookInstance: Any = UNSET
    fhirServer: Any = UNSET
    fhirAuthorization: Any = UNSET
    context: Context
    # Prefetch is made at import time (defstruct), so mypy sees a variable, not a type.
    prefetch: Prefetch | None | UnsetType = UNSET  # type: ignore[valid-type]


DECODER = msgspec.json.Decoder(HookBody)
DRAFT_DECODER = msgspec.json.Decoder(DraftResource)
KIND_DECODER = msgspec.json.Decoder(Kind)
# Draft types the lenient reader reads: one that does not fit the schema sends the call there.
READ_DRAFT_TYPES = frozenset(
    {"Medication", "MedicationRequest", "MedicationOrder", "CarePlan", "ServiceRequest"}
)
