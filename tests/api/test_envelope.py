"""Every kind of bad envelope gets a 400 that says what was wrong; never a 500."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

PV = "/cds-services/benzo-safety-patient-view"
OS = "/cds-services/benzo-safety-order-select"

VALID_PV: dict[str, Any] = {
    "hook": "patient-view",
    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    "context": {"userId": "Practitioner/example", "patientId": "1288992"},
    "prefetch": {
        "patient": {"resourceType": "Patient", "id": "1288992", "birthDate": "1970-01-01"},
        "medications": None,
        "conditions": None,
        "carePlans": None,
        "serviceRequests": None,
    },
}


def _without(path: str) -> dict[str, Any]:
    body = copy.deepcopy(VALID_PV)
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    del target[last]
    return body


def _with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID_PV)
    body.update(changes)
    return body


def test_valid_envelope_answers_cards(client: TestClient) -> None:
    response = client.post(PV, json=VALID_PV)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_without("hook"), "hook"),
        (_without("hookInstance"), "hookInstance"),
        (_without("context"), "context"),
        (_without("context.patientId"), "context.patientId"),
        (_without("context.userId"), "context.userId"),
        (_with(hook="order-select"), "patient-view"),
        (_with(context="patient 1"), "context"),
        (
            _with(
                fhirAuthorization={
                    "access_token": "x",
                    "token_type": "Bearer",
                    "expires_in": 30,
                    "scope": "user/Patient.read",
                    "subject": "cds",
                }
            ),
            "fhirServer",
        ),
        (_with(fhirServer="not a url"), "fhirServer"),
        (_with(prefetch=["not", "an", "object"]), "prefetch"),
    ],
)
def test_bad_envelope_is_400_naming_the_problem(
    client: TestClient, body: dict[str, Any], expected: str
) -> None:
    response = client.post(PV, json=body)
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert expected in " ".join(issue["diagnostics"] for issue in outcome["issue"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b"null", "JSON object"),
    ],
)
def test_unreadable_body_is_400(client: TestClient, content: bytes, expected: str) -> None:
    response = client.post(PV, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert expected in response.text


def _order_select(**context: Any) -> dict[str, Any]:
    base = {
        "userId": "PractitionerRole/123",
        "patientId": "1288992",
        "selections": ["MedicationRequest/m1"],
        "draftOrders": {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": {
                        "resourceType": "MedicationRequest",
                        "id": "m1",
                        "status": "draft",
                        "intent": "order",
                        "subject": {"reference": "Patient/1288992"},
                        "medicationCodeableConcept": {"text": "amoxicillin 500 MG Oral Capsule"},
                    }
                }
            ],
        },
    }
    base.update(context)
    body = _with(hook="order-select", context=base)
    return body


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"selections": []}, "selections"),
        ({"selections": ["not a reference"]}, "selections"),
        ({"draftOrders": {"resourceType": "Patient"}}, "draftOrders"),
        ({"draftOrders": {"resourceType": "Bundle", "entry": ["x"]}}, "entry"),
        ({"draftOrders": None}, "draftOrders"),
    ],
)
def test_bad_order_select_context_is_400(
    client: TestClient, context: dict[str, Any], expected: str
) -> None:
    response = client.post(OS, json=_order_select(**context))
    assert response.status_code == 400, response.text
    assert expected in response.text


def test_draft_orders_without_bundle_type_are_accepted(client: TestClient) -> None:
    response = client.post(OS, json=_order_select())
    assert response.status_code == 200, response.text


def test_extra_fields_are_accepted(client: TestClient) -> None:
    body = _with(extension={"com.example.x": {"a": 1}}, unknownField=True)
    assert client.post(PV, json=body).status_code == 200


def test_oversized_body_is_413(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(max_body_bytes=1000)
    body = _with(extension={"padding": "x" * 2000})
    response = client.post(PV, json=body)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
