"""The taper card over HTTP on realistic orders: real tablets, computed pace, switch suggestions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.careplan import CarePlan

from tests.conftest import EVALUATION_DATE

PATH = "/cds-services/benzo-safety-patient-view"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _request(
    code: str, display: str, dose_mg: float, per_day: int, when: list[str]
) -> dict[str, Any]:
    patient = "pt-taper-http"
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr-taper",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": display}],
            "text": display,
        },
        "authoredOn": (EVALUATION_DATE - timedelta(days=200)).isoformat(),
        "dosageInstruction": [
            {
                "text": f"{dose_mg:g} mg by mouth {per_day} times a day",
                "timing": {
                    "repeat": {
                        "frequency": per_day,
                        "period": 1,
                        "periodUnit": "d",
                        **({"when": when} if when else {}),
                    }
                },
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose_mg,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ],
            }
        ],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"https://fhir.example.org/r4/MedicationRequest/{order['id']}",
                "resource": order,
                "search": {"mode": "match"},
            }
        ],
    }
    return {
        "hook": "patient-view",
        "hookInstance": "7b1f6a3e-9d43-4b8e-9d0e-2f0f3c1a5b11",
        "context": {"userId": "Practitioner/example", "patientId": patient},
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": patient,
                "birthDate": "1975-04-02",
                "gender": "female",
            },
            "medications": bundle,
            "conditions": None,
            "carePlans": None,
            "serviceRequests": None,
        },
    }


def _taper_card(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(PATH, json=body)
    assert response.status_code == 200, response.text
    [card] = [c for c in response.json()["cards"] if c["source"]["topic"]["code"] == "taper-plan"]
    return card


def _careplans(card: dict[str, Any]) -> list[dict[str, Any]]:
    plans = [
        a["resource"]
        for s in card.get("suggestions", [])
        for a in s["actions"]
        if a.get("resource", {}).get("resourceType") == "CarePlan"
    ]
    for plan in plans:
        CarePlan.model_validate(plan)
    return plans


def _steps(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["detail"] for a in plan["activity"] if "dailyAmount" in a["detail"]]


CASES = [
    # (RxNorm, display, mg per dose, doses a day, when, daily doses expected, switch CarePlan)
    (
        "308048",
        "alprazolam 0.5 MG Oral Tablet",
        0.5,
        2,
        ["MORN", "HS"],
        [0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0],
        10.0,
    ),
    (
        "433801",
        "24 HR alprazolam 3 MG Extended Release Oral Tablet",
        3,
        1,
        [],
        [3, 2.75, 2.5, 2.25, 2, 1.75, 1.5, 1.25, 1, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0],
        30.0,
    ),
    ("854873", "zolpidem tartrate 10 MG Oral Tablet", 10, 1, ["HS"], [5, 0], None),
    (
        "349195",
        "clonazepam 0.25 MG Disintegrating Oral Tablet",
        0.25,
        2,
        [],
        [0.375, 0.25, 0.125, 0],
        None,
    ),
    ("197901", "lorazepam 1 MG Oral Tablet", 1, 3, [], [2.5, 2, 1.5, 1, 0.5, 0], 15.0),
    ("198242", "temazepam 30 MG Oral Capsule", 30, 1, ["HS"], [22.5, 15, 7.5, 0], 20.0),
]


@pytest.mark.parametrize(
    ("code", "display", "dose", "per_day", "when", "expected", "switch"),
    CASES,
    ids=[c[1] for c in CASES],
)
def test_taper_card_schedules_real_tablets(
    client: TestClient,
    code: str,
    display: str,
    dose: float,
    per_day: int,
    when: list[str],
    expected: list[float],
    switch: float | None,
) -> None:
    card = _taper_card(client, _request(code, display, dose, per_day, when))
    plans = _careplans(card)
    taper = plans[0]
    steps = _steps(taper)
    assert [s["dailyAmount"]["value"] for s in steps] == expected
    # The pace is stated as computed, the same in the card and the CarePlan.
    pace = taper["description"].split("guideline): ", 1)[1].split("; never stop", 1)[0]
    assert f"- Pace: {pace}\n" in card["detail"]
    assert "never more than 25% of the current dose in 2 weeks" in pace
    assert "5-10% every 2-4 weeks" not in taper["description"]
    # Every step says how to take it with real tablets or capsules.
    for step in steps[:-1]:
        assert any(word in step["description"] for word in ("tablet", "capsule"))
    assert steps[-1]["description"].split(": ", 1)[1].startswith("stop ")
    if switch is None:
        assert len(plans) == 1
    else:
        switched = plans[1]
        assert switched["title"].endswith("to diazepam, then taper")
        assert _steps(switched)[0]["dailyAmount"]["value"] == switch
        assert "switch to" in _steps(switched)[0]["description"]
        assert card["selectionBehavior"] == "at-most-one"


def test_extended_release_switches_to_immediate_release_first(client: TestClient) -> None:
    card = _taper_card(
        client, _request("433801", "24 HR alprazolam 3 MG Extended Release Oral Tablet", 3, 1, [])
    )
    first = _steps(_careplans(card)[0])[0]
    assert first["description"].startswith(
        f"{EVALUATION_DATE.isoformat()}: switch to 3 mg/day of alprazolam"
    )
    assert (
        "- First step 2026-11-23: switch to 3 mg/day of alprazolam: 1½ tablets of 2 mg a "
        "day (immediate-release, same daily dose)"
    ) in card["detail"]


def test_no_half_of_an_unscored_or_odt_tablet(client: TestClient) -> None:
    for code, display, dose in (
        ("854873", "zolpidem tartrate 10 MG Oral Tablet", 10),
        ("349194", "clonazepam 0.125 MG Disintegrating Oral Tablet", 0.125),
    ):
        card = _taper_card(client, _request(code, display, dose, 1, []))
        descriptions = [s["description"] for s in _steps(_careplans(card)[0])]
        assert not any("½" in d or "¼" in d for d in descriptions), descriptions
