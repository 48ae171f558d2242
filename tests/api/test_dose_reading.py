"""Doses read from real EHR sig shapes, through HTTP: the number on the card is the right one."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVALUATION_DATE

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"
PATIENT_ID = "pt-dose"
CLONAZEPAM_05 = {
    "coding": [{"system": RXNORM, "code": "197527", "display": "clonazepam 0.5 MG Oral Tablet"}],
    "text": "clonazePAM (KlonoPIN) 0.5 MG tablet",
}
CLONAZEPAM_1 = {
    "coding": [{"system": RXNORM, "code": "197528", "display": "clonazepam 1 MG Oral Tablet"}],
    "text": "clonazePAM (KlonoPIN) 1 MG tablet",
}
# As Epic displays it, no RxNorm code: the strength comes from the display.
OXY_APAP = {
    "text": "oxyCODONE-acetaminophen 10-325 MG per tablet",
    "coding": [
        {
            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288",
            "code": "41205",
            "display": "oxyCODONE-acetaminophen 10-325 MG",
        }
    ],
}
MG_PER_DAY = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?) mg/day")


def _tablet(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "tablet", "system": FORM, "code": "TAB"}


def _order(
    rid: str,
    concept: dict[str, Any],
    dosages: list[dict[str, Any]],
    *,
    days_ago: int = 180,
    status: str = "active",
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authoredOn": (EVALUATION_DATE - timedelta(days=days_ago)).isoformat(),
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "community",
                    }
                ]
            }
        ],
        "medicationCodeableConcept": concept,
        "dosageInstruction": dosages,
        "reasonCode": [{"text": "Generalized anxiety disorder"}],
    }


def _request(*orders: dict[str, Any]) -> dict[str, Any]:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(orders),
        "entry": [{"resource": o} for o in orders],
    }
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    return {
        "hook": "patient-view",
        "hookInstance": "8a1b7f42-7a43-4cbd-9d4e-5d1f0a6f1c2e",
        "context": {"userId": "Practitioner/example", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": PATIENT_ID,
                "birthDate": "1976-05-02",
                "gender": "female",
            },
            "medications": bundle,
            "conditions": empty,
            "carePlans": empty,
            "serviceRequests": empty,
        },
    }


def _cards(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/cds-services/benzo-safety-patient-view", json=body)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def _text(cards: list[dict[str, Any]]) -> str:
    return "\n".join(f"{c['summary']}\n{c.get('detail', '')}" for c in cards)


# A taper step (dated, or the card's "First step"): not today's dose.
_STEP_ROW = re.compile(r"^\s*-\s*(?:First step )?\d{4}-\d{2}-\d{2}")


def _doses_stated(cards: list[dict[str, Any]], order_name: str) -> list[float]:
    """The mg/day a card gives as the order's current dose: on the line that names the order
    (its evidence, "**drug** ...") and on lines about "the dose"; not on taper steps or
    equivalents."""
    lines = [
        line
        for line in _text(cards).splitlines()
        if (f"**{order_name}**" in line or re.search(r"\bdose\b", line, re.IGNORECASE))
        and not _STEP_ROW.match(line)
        and "diazepam" not in line.lower()
    ]
    return [float(x) for line in lines for x in MG_PER_DAY.findall(line)]


SPLIT_TEXT = [
    {
        "text": "Take 1 tablet (0.5 mg total) by mouth every morning AND 2 tablets "
        "(1 mg total) at bedtime.",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": _tablet(1)}],
    }
]
SPLIT_ENTRIES = [
    {
        "text": "1 tablet every morning",
        "doseAndRate": [{"doseQuantity": _tablet(1)}],
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"]}},
    },
    {
        "text": "2 tablets at bedtime",
        "doseAndRate": [{"doseQuantity": _tablet(2)}],
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["HS"]}},
    },
]


@pytest.mark.parametrize(
    "dosages",
    [SPLIT_TEXT, SPLIT_ENTRIES],
    ids=["one-text-with-two-parts", "two-entries-without-sequence"],
)
def test_split_clonazepam_dose_reads_as_the_daily_total(
    make_client: Callable[..., TestClient], dosages: list[dict[str, Any]]
) -> None:
    cards = _cards(make_client(), _request(_order("clz", CLONAZEPAM_05, dosages)))
    taper = [c for c in cards if c["source"]["topic"]["code"] == "taper-plan"]
    assert taper, [c["summary"] for c in cards]
    stated = _doses_stated(taper, "clonazepam")
    # the morning dose alone (0.5) is never presented as the day's dose
    assert stated and set(stated) == {1.5}, stated


def test_epic_two_times_daily_reads_as_two_doses(make_client: Callable[..., TestClient]) -> None:
    epic = [
        {
            "text": "Take 1 tablet (1 mg total) by mouth 2 (two) times daily.",
            "patientInstruction": "Take 1 tablet (1 mg total) by mouth 2 (two) times daily.",
        }
    ]
    cards = _cards(make_client(), _request(_order("clz", CLONAZEPAM_1, epic)))
    stated = _doses_stated(cards, "clonazepam")
    assert stated and set(stated) == {2.0}, stated


def test_combination_opioid_strength_and_mme_from_the_display(
    make_client: Callable[..., TestClient],
) -> None:
    clonazepam = _order(
        "clz", CLONAZEPAM_1, [{"text": "Take 1 tablet (1 mg total) by mouth 2 (two) times daily."}]
    )
    oxycodone = _order(
        "oxy",
        OXY_APAP,
        [
            {
                "text": "Take 1 tablet by mouth every 4 (four) hours.",
                "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "h"}},
                "doseAndRate": [{"doseQuantity": _tablet(1)}],
            }
        ],
        days_ago=10,
    )
    cards = _cards(make_client(), _request(clonazepam, oxycodone))
    overlap = [c for c in cards if c["source"]["topic"]["code"] == "opioid-benzodiazepine-overlap"]
    assert len(overlap) == 1
    detail = overlap[0]["detail"]
    # oxycodone 10 mg x 6 a day x 1.5 (CDC 2022) = 90 MME/day
    assert re.search(r"(?<![\d.])90 MME/day", detail), detail
    assert "could not be computed" not in detail


def test_as_needed_maximum_is_the_mme_upper_bound(make_client: Callable[..., TestClient]) -> None:
    clonazepam = _order(
        "clz", CLONAZEPAM_1, [{"text": "Take 1 tablet (1 mg total) by mouth 2 (two) times daily."}]
    )
    prn = _order(
        "oxy",
        OXY_APAP,
        [
            {
                "text": "Take 1-2 tablets by mouth every 6 (six) hours as needed for pain. "
                "Max Daily Amount: 6 tablets"
            }
        ],
        days_ago=3,
    )
    cards = _cards(make_client(), _request(clonazepam, prn))
    overlap = next(
        c for c in cards if c["source"]["topic"]["code"] == "opioid-benzodiazepine-overlap"
    )
    # up to 6 tablets x 10 mg x 1.5 = 90 MME/day: the cap, not 2 x 4 x 10 x 1.5 = 120
    assert re.search(r"(?<![\d.])90 MME/day", overlap["detail"]), overlap["detail"]
    assert not re.search(r"(?<![\d.])120 MME/day", overlap["detail"])
