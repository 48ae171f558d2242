"""Hook requests shaped the way EHRs send them (Epic/Oracle-style orders, renewals, drafts).

Dates are relative to tests.conftest.EVALUATION_DATE (the clock every make_client uses), so a
test says "authored 90 days ago" and reads like the chart it describes.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from tests.conftest import EVALUATION_DATE

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CATEGORY = "http://terminology.hl7.org/CodeSystem/medicationrequest-category"
PID = "eJzlzKe3KPzAV5TtkxmNivQ3"  # an Epic-style opaque FHIR id
SERVICE = {
    "patient-view": "/cds-services/benzo-safety-patient-view",
    "order-select": "/cds-services/benzo-safety-order-select",
    "order-sign": "/cds-services/benzo-safety-order-sign",
}

# (RxNorm SCD, display, sig text, frequency per day, tablets per dose) as the EHR spells them.
DRUGS: dict[str, tuple[str, str, str, int, float]] = {
    "clonazepam": (
        "197527",
        "clonazePAM 0.5 MG Oral Tablet",
        "Take 1 tablet by mouth 2 (two) times daily.",
        2,
        1,
    ),
    "lorazepam": (
        "197901",
        "LORazepam 1 MG Oral Tablet",
        "Take 1 tablet by mouth 2 (two) times daily.",
        2,
        1,
    ),
    "alprazolam": (
        "308048",
        "ALPRAZolam 0.5 MG Oral Tablet",
        "Take 1 tablet by mouth 3 (three) times daily.",
        3,
        1,
    ),
    "zolpidem": (
        "854873",
        "zolpidem tartrate 10 MG Oral Tablet",
        "Take 1 tablet by mouth nightly at bedtime.",
        1,
        1,
    ),
    "oxycodone": (
        "1049621",
        "oxyCODONE 5 MG Oral Tablet",
        "Take 1 tablet by mouth every 6 (six) hours as needed for pain.",
        4,
        1,
    ),
    "lisinopril": ("314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth daily.", 1, 1),
    "diazepam": (
        "197591",
        "diazePAM 5 MG Oral Tablet",
        "Take 1 tablet by mouth 2 (two) times daily.",
        2,
        1,
    ),
    "buprenorphine-naloxone": (
        "1010604",
        "buprenorphine 8 MG / naloxone 2 MG Sublingual Film",
        "Place 1 film under the tongue daily.",
        1,
        1,
    ),
    "methadone": (
        "864706",
        "methadone HCl 10 MG Oral Tablet",
        "Take 1 tablet by mouth daily.",
        1,
        1,
    ),
    "naloxone": (
        "1725059",
        "naloxone 4 MG/actuation Nasal Spray",
        "1 spray into one nostril as needed for suspected opioid overdose; may repeat "
        "with a new device in the other nostril.",
        1,
        1,
    ),
    "midazolam-injection": (
        "311700",
        "midazolam 1 MG/ML Injectable Solution",
        "2 mg intravenous once before the procedure.",
        1,
        1,
    ),
    "lorazepam-injection": (
        "238100",
        "LORazepam 2 MG/ML Injectable Solution",
        "1 mg intravenous every 6 (six) hours as needed for agitation.",
        4,
        1,
    ),
}


def day(days_ago: int) -> str:
    return (EVALUATION_DATE - timedelta(days=days_ago)).isoformat()


def coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


def med_request(
    rid: str,
    drug: str,
    *,
    status: str = "active",
    days_ago: int | None = 0,
    supply_days: int | None = 30,
    repeats: int | None = 0,
    category: str | None = "community",
    prn: bool = False,
    bounds_days: int | None = None,
    bounds: tuple[int, int] | None = None,
    validity: tuple[int | None, int | None] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A MedicationRequest as an EHR sends it; ``days_ago=None`` omits authoredOn (a draft).

    ``bounds`` and ``validity`` are (start, end) in days from the evaluation date (negative =
    past), ``None`` leaving that end open.
    """
    code, display, sig, per_day, tablets = DRUGS[drug]
    timing: dict[str, Any] = {
        "repeat": {"frequency": 1, "period": 24 // per_day, "periodUnit": "h"}
        if prn
        else {"frequency": per_day, "period": 1, "periodUnit": "d"}
    }
    if bounds_days is not None:
        timing["repeat"]["boundsDuration"] = {
            "value": bounds_days,
            "unit": "day",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    if bounds is not None:
        timing["repeat"]["boundsPeriod"] = _period(*bounds)
    dosage: dict[str, Any] = {
        "text": sig,
        "timing": timing,
        "route": {"coding": [coding(SNOMED, "26643006", "Oral route")], "text": "oral"},
        "doseAndRate": [
            {
                "type": {
                    "coding": [
                        coding(
                            "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                            "ordered",
                            "Ordered",
                        )
                    ]
                },
                "doseQuantity": {
                    "value": tablets,
                    "unit": "tablet",
                    "system": "http://unitsofmeasure.org",
                    "code": "{tbl}",
                },
            }
        ],
    }
    if prn:
        dosage["asNeededBoolean"] = True
    dispense: dict[str, Any] = {
        "quantity": {"value": per_day * (supply_days or 30), "unit": "tablet"}
    }
    if supply_days is not None:
        dispense["expectedSupplyDuration"] = {
            "value": supply_days,
            "unit": "Day",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    if repeats is not None:
        dispense["numberOfRepeatsAllowed"] = repeats
    if validity is not None:
        dispense["validityPeriod"] = _period(*validity)
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": [coding(RXNORM, code, display)], "text": display},
        "subject": {"reference": f"Patient/{PID}", "display": "Marsh, Daniel"},
        "requester": {
            "reference": "Practitioner/eM5CWtq15N0WJeuCet5bJlQ3",
            "display": "Physician Family Medicine, MD",
        },
        "dosageInstruction": [dosage],
        "dispenseRequest": dispense,
    }
    if category is not None:
        resource["category"] = [
            {"coding": [coding(CATEGORY, category, category.title())], "text": category.title()}
        ]
    if days_ago is not None:
        resource["authoredOn"] = f"{day(days_ago)}T14:32:10Z"
    resource.update(extra)
    return resource


def _period(start: int | None, end: int | None) -> dict[str, str]:
    period = {}
    if start is not None:
        period["start"] = (EVALUATION_DATE + timedelta(days=start)).isoformat()
    if end is not None:
        period["end"] = (EVALUATION_DATE + timedelta(days=end)).isoformat()
    return period


def renewals(drug: str, *, months: int, gap_days: int = 0, prefix: str = "mr") -> list[dict]:
    """``months`` completed monthly orders before today's active one, each 30 days' supply."""
    orders = []
    for n in range(months, 0, -1):
        orders.append(
            med_request(
                f"{prefix}-{drug}-{n}", drug, status="completed", days_ago=n * (30 + gap_days)
            )
        )
    orders.append(med_request(f"{prefix}-{drug}-now", drug, days_ago=5))
    return orders


def condition(
    cid: str,
    text: str,
    *,
    snomed: str | None = None,
    icd: str | None = None,
    status: str = "active",
) -> dict[str, Any]:
    codes = []
    if snomed:
        codes.append(coding(SNOMED, snomed, text))
    if icd:
        codes.append(coding(ICD10, icd, text))
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                coding(
                    "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    status,
                    status.title(),
                )
            ]
        },
        "verificationStatus": {
            "coding": [
                coding(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "confirmed",
                    "Confirmed",
                )
            ]
        },
        "category": [
            {
                "coding": [
                    coding(
                        "http://terminology.hl7.org/CodeSystem/condition-category",
                        "problem-list-item",
                        "Problem List Item",
                    )
                ]
            }
        ],
        "code": {"coding": codes, "text": text},
        "subject": {"reference": f"Patient/{PID}"},
        "onsetDateTime": day(400),
    }


INSOMNIA = condition("cond-insomnia", "Chronic insomnia", snomed="193462001", icd="G47.00")
ANXIETY = condition("cond-gad", "Generalized anxiety disorder", snomed="21897009", icd="F41.1")


def care_plan(
    cid: str, title: str, *, status: str = "active", days_ago: int = 20
) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "id": cid,
        "status": status,
        "intent": "plan",
        "title": title,
        "subject": {"reference": f"Patient/{PID}"},
        "period": {"start": day(days_ago)},
        "category": [
            {
                "coding": [
                    coding(
                        "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                        "assess-plan",
                        "Assessment and Plan",
                    )
                ]
            }
        ],
    }


def service_request(
    sid: str, text: str, *, status: str = "active", days_ago: int | None = 20
) -> dict[str, Any]:
    resource = {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": status,
        "intent": "order",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{PID}"},
    }
    if days_ago is not None:
        resource["authoredOn"] = day(days_ago)
    return resource


def patient(age: int = 52) -> dict[str, Any]:
    born = date(EVALUATION_DATE.year - age, 3, 14)
    return {
        "resourceType": "Patient",
        "id": PID,
        "birthDate": born.isoformat(),
        "name": [{"family": "Marsh", "given": ["Daniel"]}],
        "gender": "male",
    }


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"https://fhir.ehr.example/api/FHIR/R4/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def hook(
    name: str = "patient-view",
    *,
    meds: list[dict] = (),
    conditions: list[dict] = (),
    care_plans: list[dict] = (),
    service_requests: list[dict] = (),
    drafts: list[dict] = (),
    selections: list[str] | None = None,
    age: int = 52,
    keys: tuple[str, ...] = (
        "patient",
        "medications",
        "conditions",
        "carePlans",
        "serviceRequests",
    ),
) -> dict[str, Any]:
    """A hook request whose prefetch carries only ``keys`` (the others are not sent at all)."""
    every = {
        "patient": patient(age),
        "medications": searchset(*meds),
        "conditions": searchset(*conditions),
        "carePlans": searchset(*care_plans),
        "serviceRequests": searchset(*service_requests),
    }
    context: dict[str, Any] = {
        "userId": "Practitioner/eM5CWtq15N0WJeuCet5bJlQ3",
        "patientId": PID,
        "encounterId": "eVl3YHsQvmT1yBtYUr4Qr5g3",
    }
    if name != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts],
        }
    if name == "order-select":
        context["selections"] = (
            selections
            if selections is not None
            else [f"{d['resourceType']}/{d['id']}" for d in drafts]
        )
    return {
        "hook": name,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {k: every[k] for k in keys},
    }


def cards_by_rule(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {c["source"]["topic"]["code"]: c for c in response.json()["cards"]}
