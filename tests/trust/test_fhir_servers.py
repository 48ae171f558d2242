"""The FHIR token only goes to the verified issuer's own FHIR servers, and paging stays there."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from tests.conftest import load_fixture
from tests.security.jwt_factory import TestIssuer
from tests.trust.conftest import ALLOWED_FHIR, EVIL_FHIR, PV, serve_standin, standin_files

BASE = "http://testserver"
FALLBACK = "hooks/patient-view-fallback.json"


def _request(server: str) -> dict[str, Any]:
    request = load_fixture(FALLBACK)
    assert "prefetch" not in request
    request["fhirServer"] = server
    return request


@pytest.fixture
def jwt_client(make_client: Callable[..., TestClient], es_issuer: TestIssuer) -> TestClient:
    assert es_issuer.trusted.fhir_servers == [ALLOWED_FHIR]
    return make_client(jwt_required=True, trusted_issuers=[es_issuer.trusted])


def _post(client: TestClient, issuer: TestIssuer, body: dict[str, Any]) -> httpx.Response:
    return client.post(PV, json=body, headers={"Authorization": issuer.bearer(f"{BASE}{PV}")})


def test_server_off_the_issuers_list_is_never_contacted(
    jwt_client: TestClient, es_issuer: TestIssuer
) -> None:
    with respx.mock(assert_all_called=False) as router:
        evil = router.route(host="evil.example.net").respond(200, json={})
        serve_standin(router, ALLOWED_FHIR)
        response = _post(jwt_client, es_issuer, _request(EVIL_FHIR))
    assert response.status_code == 412, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "allowlist" in response.text
    assert not evil.called
    assert not router.calls  # nothing at all left the service
    assert "evil.example.net" not in response.text


@pytest.mark.parametrize(
    "sneaky",
    [
        "https://fhir.example.org/r4evil",  # a sibling path, not under the base
        "https://fhir.example.org@evil.example.net/r4",  # userinfo trick
        "http://fhir.example.org/r4",  # downgraded scheme
        "https://fhir.example.org:8443/r4",  # another port
    ],
)
def test_lookalike_servers_are_refused(
    jwt_client: TestClient, es_issuer: TestIssuer, sneaky: str
) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.route().respond(200, json={})
        response = _post(jwt_client, es_issuer, _request(sneaky))
        sent = list(router.calls)
    assert response.status_code in (400, 412), response.text
    assert not sent


def test_issuers_own_server_is_used(jwt_client: TestClient, es_issuer: TestIssuer) -> None:
    request = _request(ALLOWED_FHIR)
    with respx.mock(assert_all_called=False) as router:
        evil = router.route(host="evil.example.net").respond(200, json={})
        routes = serve_standin(router, ALLOWED_FHIR)
        response = _post(jwt_client, es_issuer, request)
        sent = [call.request for call in router.calls]
    assert response.status_code == 200, response.text
    rules = sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])
    assert rules == ["opioid-benzodiazepine-overlap", "taper-plan"]
    assert all(route.called for route in routes.values())
    assert not evil.called
    token = request["fhirAuthorization"]["access_token"]
    assert sent and all(r.headers["authorization"] == f"Bearer {token}" for r in sent)
    assert all(r.url.host == "fhir.example.org" for r in sent)


def test_other_issuers_server_is_refused(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer, rs_issuer: TestIssuer
) -> None:
    # rs_issuer's list is its own server; it may not borrow es_issuer's.
    client = make_client(jwt_required=True, trusted_issuers=[es_issuer.trusted, rs_issuer.trusted])
    with respx.mock(assert_all_called=False) as router:
        serve_standin(router, ALLOWED_FHIR)
        response = _post(client, rs_issuer, _request(ALLOWED_FHIR))
        sent = list(router.calls)
    assert response.status_code == 412, response.text
    assert not sent


@pytest.mark.parametrize(
    "next_url",
    [
        f"{EVIL_FHIR}/MedicationRequest?page=2",
        "https://fhir.example.org/other/MedicationRequest?page=2",
        "//evil.example.net/r4/MedicationRequest?page=2",
    ],
)
def test_next_link_to_another_host_is_not_followed(
    jwt_client: TestClient, es_issuer: TestIssuer, next_url: str
) -> None:
    page = dict(standin_files()["MedicationRequest"])
    page["link"] = [{"relation": "next", "url": next_url}]
    started = time.monotonic()
    with respx.mock(assert_all_called=False) as router:
        evil = router.route(host="evil.example.net").respond(
            200, json={"resourceType": "Bundle", "type": "searchset", "entry": []}
        )
        other = router.route(host="fhir.example.org", path__startswith="/other").respond(
            200, json={"resourceType": "Bundle", "type": "searchset", "entry": []}
        )
        serve_standin(
            router, ALLOWED_FHIR, MedicationRequest=lambda _: httpx.Response(200, json=page)
        )
        response = _post(jwt_client, es_issuer, _request(ALLOWED_FHIR))
    assert time.monotonic() - started < 5
    assert response.status_code == 200, response.text
    assert not evil.called and not other.called
    # The first page still counts: its overlap is found.
    rules = sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])
    assert "opioid-benzodiazepine-overlap" in rules
