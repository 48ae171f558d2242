"""Each bundled hook request, through HTTP, gives the cards in fhir_fixtures/expected.json."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from tests.conftest import FIXTURES, load_fixture

EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())["fixtures"]
SERVICE = {
    "patient-view": "benzo-safety-patient-view",
    "order-select": "benzo-safety-order-select",
    "order-sign": "benzo-safety-order-sign",
}
PREFETCHED = sorted(name for name, spec in EXPECTED.items() if "prefetch" in load_fixture(name))


def _post(make_client, name: str, **overrides: Any) -> httpx.Response:  # type: ignore[no-untyped-def]
    spec = EXPECTED[name]
    request = load_fixture(name)
    client = make_client(evaluation_date=date.fromisoformat(spec["evaluation_date"]), **overrides)
    return client.post(f"/cds-services/{SERVICE[request['hook']]}", json=request)


def _rules(cards: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((c["source"]["topic"]["code"], c["indicator"]) for c in cards)


@pytest.mark.parametrize("name", PREFETCHED)
def test_fixture_gives_expected_cards(make_client, name: str) -> None:  # type: ignore[no-untyped-def]
    response = _post(make_client, name)
    assert response.status_code == 200, response.text
    expected = sorted((c["rule"], c["indicator"]) for c in EXPECTED[name]["cards"])
    assert _rules(response.json()["cards"]) == expected


@pytest.mark.parametrize("name", PREFETCHED)
def test_same_request_same_cards(make_client, name: str) -> None:  # type: ignore[no-untyped-def]
    first = _post(make_client, name).json()
    second = _post(make_client, name).json()
    assert first == second  # deterministic text and uuids: feedback joins to what was shown


def _serve_standin(router: respx.MockRouter, base: str, folder: str) -> None:
    folder_path = FIXTURES / "servers" / folder
    files = {p.stem: json.loads(p.read_text()) for p in folder_path.glob("*.json")}
    patient = files["Patient"]
    router.get(f"{base}/Patient/{patient['id']}").respond(200, json=patient)
    for kind in ("MedicationRequest", "Condition", "CarePlan", "ServiceRequest"):
        router.get(f"{base}/{kind}", params={"patient": patient["id"]}).respond(
            200, json=files.get(kind, {"resourceType": "Bundle", "type": "searchset", "total": 0})
        )


def test_fallback_fetches_from_fhir_server(make_client) -> None:  # type: ignore[no-untyped-def]
    name = "hooks/patient-view-fallback.json"
    request = load_fixture(name)
    base = request["fhirServer"].rstrip("/")
    with respx.mock(assert_all_mocked=True) as router:
        _serve_standin(router, base, "overlap-patient")
        response = _post(make_client, name)
        sent = [call.request for call in router.calls]
    assert response.status_code == 200, response.text
    expected = sorted((c["rule"], c["indicator"]) for c in EXPECTED[name]["cards"])
    assert _rules(response.json()["cards"]) == expected
    token = request["fhirAuthorization"]["access_token"]
    assert sent and all(r.headers["authorization"] == f"Bearer {token}" for r in sent)


@pytest.mark.parametrize(("status", "expected"), [(401, "401"), (500, "500")])
def test_fallback_server_error_is_412(make_client, status: int, expected: str) -> None:  # type: ignore[no-untyped-def]
    name = "hooks/patient-view-fallback.json"
    base = load_fixture(name)["fhirServer"].rstrip("/")
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=base).respond(status)
        response = _post(make_client, name)
    assert response.status_code == 412
    assert expected in response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_fallback_timeout_is_412(make_client) -> None:  # type: ignore[no-untyped-def]
    name = "hooks/patient-view-fallback.json"
    base = load_fixture(name)["fhirServer"].rstrip("/")
    with respx.mock(assert_all_called=False) as router:
        router.route(url__startswith=base).mock(side_effect=httpx.ReadTimeout("slow"))
        response = _post(make_client, name)
    assert response.status_code == 412
    assert "time" in response.text.lower()


def test_no_prefetch_and_no_fhir_server_is_412(make_client) -> None:  # type: ignore[no-untyped-def]
    request = load_fixture("hooks/patient-view-fallback.json")
    request.pop("fhirServer")
    request.pop("fhirAuthorization", None)
    client = make_client()
    response = client.post("/cds-services/benzo-safety-patient-view", json=request)
    assert response.status_code == 412
    assert "fhirServer" in response.text


def test_off_list_fhir_server_gets_no_token(make_client) -> None:  # type: ignore[no-untyped-def]
    name = "hooks/patient-view-fallback.json"
    base = load_fixture(name)["fhirServer"].rstrip("/")
    with respx.mock(assert_all_called=False) as router:
        route = router.route(url__startswith=base).respond(200, json={})
        response = _post(make_client, name, allowed_fhir_servers=["https://other.example.org/fhir"])
    assert response.status_code == 412
    assert not route.called
