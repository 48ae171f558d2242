"""What every service asks the EHR for: its CDS Hooks 2.0 prefetch templates, and the data no
rule can do without. Data, below the services that use it (app/hooks/definitions.py)."""

from __future__ import annotations

# 2.0 tokens only ({{context.patientId}}); all MedicationRequest statuses because history
# (how long a sedative has been taken, earlier tapers) matters to the rules.
PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "carePlans": "CarePlan?patient={{context.patientId}}",
    "serviceRequests": "ServiceRequest?patient={{context.patientId}}",
}


# Resource types no rule can do without: when they cannot be had the call answers 412. Every
# other key is optional; each rule in app/cards declares what it needs (REQUIRES) and says in
# its card what it could not check.
REQUIRED_DATA = frozenset({"Patient", "MedicationRequest"})
