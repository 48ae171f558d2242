"""Suggested resources stay valid FHIR on messy EHR codes; an invalid one never fails the call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cards import resources
from app.observability.metrics import INVALID_SUGGESTIONS
from bench import data

PATH = "/cds-services/benzo-safety-patient-view"


def _typical() -> dict[str, Any]:
    """The benchmark's typical patient: overlap, taper-plan and CBT-I cards, one of each builder."""
    return data.patient_view_request(
        data.make_patient(data.TYPICAL, data.DEFAULT_SEED), seed=data.DEFAULT_SEED
    )


def _suggested(cards: list[dict[str, Any]], resource_type: str) -> list[dict[str, Any]]:
    return [
        a["resource"]
        for c in cards
        for s in c.get("suggestions", [])
        for a in s["actions"]
        if a.get("resource", {}).get("resourceType") == resource_type
    ]


def _codes(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [
            *([value["code"]] if isinstance(value.get("code"), str) else []),
            *(c for v in value.values() for c in _codes(v)),
        ]
    if isinstance(value, list):
        return [c for v in value for c in _codes(v)]
    return []


def test_codes_with_double_spaces_are_left_out_of_suggestions(client: TestClient) -> None:
    body = _typical()
    for key, field in (("medications", "medicationCodeableConcept"), ("conditions", "code")):
        for entry in body["prefetch"][key]["entry"]:
            for coding in entry["resource"].get(field, {}).get("coding", []):
                coding["code"] = coding["code"] + "  1"  # not a FHIR `code`: double space

    response = client.post(PATH, json=body)

    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    [careplan] = _suggested(cards, "CarePlan")
    [referral] = _suggested(cards, "ServiceRequest")
    products = [
        a["detail"]["productCodeableConcept"]
        for a in careplan["activity"]
        if "productCodeableConcept" in a["detail"]
    ]
    assert products and all("coding" not in p and p["text"] for p in products)
    assert referral["reasonCode"][0]["text"]
    assert not [c for c in _codes(careplan) + _codes(referral) if "  " in c]


@pytest.fixture
def full_client(make_client: Callable[..., TestClient]) -> TestClient:
    """Every suggested resource validated as its R4B model (built before caplog attaches)."""
    return make_client(full_suggestion_validation=True)


def test_an_invalid_resource_drops_its_suggestion_not_the_card(
    full_client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """With full validation on, even a broken constant of a builder drops the suggestion."""
    client = full_client
    real: Callable[[str], dict[str, str]] = resources.suggestion_code

    def broken(key: str) -> dict[str, str]:
        # A code with a double space is not a FHIR `code`: the naloxone order fails validation.
        return {**real(key), "code": "bad  code"} if key == "rescue-naloxone" else real(key)

    monkeypatch.setattr(resources, "suggestion_code", broken)
    before = INVALID_SUGGESTIONS.labels("MedicationRequest")._value.get()
    caplog.set_level(logging.ERROR, logger="app.cards")
    body = _typical()

    response = client.post(PATH, json=body)

    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    [overlap] = [
        c for c in cards if c["source"]["topic"]["code"] == "opioid-benzodiazepine-overlap"
    ]
    assert overlap["indicator"] in ("warning", "critical")
    assert _suggested(cards, "MedicationRequest") == []
    assert _suggested(cards, "CarePlan") and _suggested(cards, "ServiceRequest")
    assert INVALID_SUGGESTIONS.labels("MedicationRequest")._value.get() == before + 1
    [record] = [r for r in caplog.records if "R4B validation" in r.getMessage()]
    assert record.__dict__["resource"] == "MedicationRequest"
    assert body["context"]["patientId"] not in f"{record.getMessage()} {record.__dict__}"


def test_an_invalid_ehr_value_drops_its_suggestion_with_the_quick_check(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The default check reads the values copied from the EHR: a builder that copied an
    invalid code (here: one that stopped filtering them) loses that suggestion, not the card."""
    monkeypatch.setattr(
        resources,
        "coding",
        lambda system, code, display=None: (
            {"system": system, "code": code} if system and code else None
        ),
    )
    body = _typical()
    for entry in body["prefetch"]["conditions"]["entry"]:
        for coding in entry["resource"]["code"]["coding"]:
            coding["code"] += "  1"  # not a FHIR `code`: double space
    before = INVALID_SUGGESTIONS.labels("ServiceRequest")._value.get()
    caplog.set_level(logging.ERROR, logger="app.cards")

    response = client.post(PATH, json=body)

    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert _suggested(cards, "ServiceRequest") == []
    assert [c for c in cards if c["source"]["topic"]["code"] == "cbti-referral"]
    assert _suggested(cards, "MedicationRequest") and _suggested(cards, "CarePlan")
    assert INVALID_SUGGESTIONS.labels("ServiceRequest")._value.get() == before + 1
    assert body["context"]["patientId"] not in caplog.text
