"""Discovery per CDS Hooks 2.0: one service per hook, 2.0-syntax prefetch templates."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

TOKEN = re.compile(r"\{\{([^}]*)\}\}")
ALLOWED_TOKENS = {
    "context.patientId",
    "context.userId",
    "context.encounterId",
    "userPractitionerId",
    "userPractitionerRoleId",
    "userPatientId",
    "userRelatedPersonId",
}


def test_discovery_lists_one_service_per_hook(client: TestClient) -> None:
    response = client.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert sorted(s["hook"] for s in services) == ["order-select", "order-sign", "patient-view"]
    for service in services:
        assert {"hook", "id", "title", "description", "prefetch"} <= service.keys()
        assert service["description"] and service["title"]
        assert all(v is not None and v != [] for v in service.values())


def test_prefetch_templates_use_only_2_0_tokens(client: TestClient) -> None:
    for service in client.get("/cds-services").json()["services"]:
        prefetch = service["prefetch"]
        assert {
            "patient",
            "medications",
            "conditions",
            "carePlans",
            "serviceRequests",
        } <= prefetch.keys()
        assert prefetch["patient"] == "Patient/{{context.patientId}}"
        # All statuses of MedicationRequest: history matters for the taper rule.
        assert "status" not in prefetch["medications"]
        for template in prefetch.values():
            assert not template.startswith(("/", "http"))  # relative read or search
            assert set(TOKEN.findall(template)) <= ALLOWED_TOKENS


def test_unknown_route_is_404_with_operation_outcome(client: TestClient) -> None:
    response = client.post("/cds-services/no-such-service", json={})
    assert response.status_code == 404
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert "no-such-service" in body["issue"][0]["diagnostics"]


def test_cors_preflight_needs_no_auth(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(jwt_required=True, cors_origins=["https://sandbox.cds-hooks.org"])
    response = client.options(
        "/cds-services/benzo-safety-patient-view",
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://sandbox.cds-hooks.org"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
