"""What every rule shares: its signature, which medications are "in focus", stable uuids."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from app.config import Settings
from app.models.cards import Card
from app.record import MedicationUse, PatientRecord

# A rule is a pure function: same record and settings, same cards (0 or 1 per rule).
Rule = Callable[[PatientRecord, Settings], list[Card]]

# Project code system naming each rule; carried in Card.source.topic so EHRs, feedback
# analytics and tests can tell the cards apart.
TOPIC_SYSTEM = "urn:benzo-safety-cds:card-topic"
_UUID_NAMESPACE = uuid.UUID("6f1f2b1e-4d0a-4c49-9a39-0b2f6c1de5a1")


def card_uuid(record: PatientRecord, rule_id: str, meds: Iterable[MedicationUse]) -> str:
    """Deterministic card uuid from patient + rule + drugs, so feedback joins to what was shown."""
    key = "|".join([record.patient_id, rule_id, *sorted(m.ref for m in meds)])
    return str(uuid.uuid5(_UUID_NAMESPACE, key))


def suggestion_uuid(card_id: str, key: str) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, f"{card_id}|{key}"))


def current_medications(record: PatientRecord) -> list[MedicationUse]:
    """Active chart orders plus draft orders: everything the patient takes or is about to."""
    return [m for m in record.medications if m.is_active or m.is_draft]


def focus_medications(record: PatientRecord) -> list[MedicationUse]:
    """The orders a hook asks about: the chart (patient-view), selected drafts, or all drafts."""
    if record.hook == "order-select":
        return [m for m in record.medications if m.is_draft and m.is_selected]
    if record.hook == "order-sign":
        return [m for m in record.medications if m.is_draft]
    return current_medications(record)
