"""The URL checked is the URL requested: against a real loopback FHIR server, the access token
never reaches a path that normalizes outside the fhirServer base (dot segments, `%2e%2e`, ...)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import load_fixture
from tests.security.jwt_factory import TestIssuer, make_file_issuer
from tests.trust.conftest import PV, RecordList, attach
from tests.trust.loopback_fhir import Listener, loopback_fhir

TOKEN = "loopback-access-token-0f3c"
AUD = f"http://testserver{PV}"

# {base} is the listener's FHIR base (http://127.0.0.1:<port>/fhir), {origin} its root.
OUTSIDE = [
    "{base}/../outside",
    "{base}/%2e%2e/outside",
    "{base}/%2E%2E/outside",
    "{base}/.%2e/outside",
    "{base}/%2e./outside",
    "{base}/x/../../outside",
    "{base}//%2e%2e/outside",  # slashes merged first, as many servers do
    "{base}/..;/outside",  # Tomcat-style path parameter
    "{base}/%252e%252e/outside",  # double encoding
    "{base}/..%2foutside",  # encoded slash
    "{base}/..%5Coutside",  # encoded backslash
    "{origin}/outside",
]


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with loopback_fhir() as running:
        yield running


@pytest.fixture
def issuer(tmp_path: Path, listener: Listener) -> TestIssuer:
    return make_file_issuer(tmp_path, "https://ehr.example.org", fhir_servers=[listener.base])


@pytest.fixture
def client(
    make_client: Callable[..., TestClient],
    issuer: TestIssuer,
    root_records: RecordList,
    listener: Listener,
) -> TestClient:
    client = make_client(jwt_required=True, trusted_issuers=[issuer.trusted])
    attach(root_records)
    listener.seen.clear()
    return client


def _post(client: TestClient, issuer: TestIssuer, body: dict[str, Any]) -> httpx.Response:
    return client.post(PV, json=body, headers={"Authorization": issuer.bearer(AUD)})


def _with_token(body: dict[str, Any], server: str) -> dict[str, Any]:
    body["fhirServer"] = server
    body["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/*.read",
        "subject": "cds",
    }
    return body


def _fallback(server: str) -> dict[str, Any]:
    body = load_fixture("hooks/patient-view-fallback.json")
    return _with_token(body, server)


def _prefetched(listener: Listener) -> dict[str, Any]:
    return _with_token(
        copy.deepcopy(load_fixture("hooks/patient-view-overlap.json")), listener.base
    )


def _fill(template: str, listener: Listener) -> str:
    return template.format(base=listener.base, origin=listener.base.removesuffix("/fhir"))


def _skips(records: RecordList) -> dict[str, int]:
    found: dict[str, int] = {}
    for record in records.records:
        found.update(getattr(record, "skipped", None) or {})
    return found


def _rules(response: httpx.Response) -> list[str]:
    return sorted(c["source"]["topic"]["code"] for c in response.json()["cards"])


def test_control_the_token_reaches_the_base(
    client: TestClient, issuer: TestIssuer, listener: Listener
) -> None:
    response = _post(client, issuer, _fallback(listener.base))
    assert response.status_code == 200, response.text
    assert _rules(response) == ["opioid-benzodiazepine-overlap", "taper-plan"]
    assert len(listener.seen) == 5 and not listener.outside()
    assert all(s.authorization == f"Bearer {TOKEN}" for s in listener.seen)


@pytest.mark.parametrize("server", OUTSIDE)
def test_fhir_server_normalizing_outside_is_never_contacted(
    client: TestClient, issuer: TestIssuer, listener: Listener, server: str
) -> None:
    response = _post(client, issuer, _fallback(_fill(server, listener)))
    assert response.status_code in (400, 412), response.text
    assert listener.seen == []


@pytest.mark.parametrize(
    "link",
    [
        *OUTSIDE,
        "../outside/MedicationRequest?page=2",
        "%2e%2e/outside/MedicationRequest?page=2",
        "{base}/MedicationRequest/%2e%2e/%2e%2e/outside?page=2",
    ],
)
def test_next_link_normalizing_outside_is_not_followed(
    client: TestClient, issuer: TestIssuer, listener: Listener, root_records: RecordList, link: str
) -> None:
    body = _prefetched(listener)
    body["prefetch"]["medications"]["link"] = [{"relation": "next", "url": _fill(link, listener)}]
    response = _post(client, issuer, body)
    assert response.status_code == 200, response.text
    assert "opioid-benzodiazepine-overlap" in _rules(response)  # the first page still counts
    assert listener.seen == []
    assert _skips(root_records).get("paging-next-link-off-server") == 1


def test_next_link_with_dots_inside_the_base_is_sent_as_checked(
    client: TestClient, issuer: TestIssuer, listener: Listener
) -> None:
    body = _prefetched(listener)
    body["prefetch"]["medications"]["link"] = [
        {
            "relation": "next",
            "url": (f"{listener.base}/x/%2e%2e/./MedicationRequest?patient=pt-overlap&page=2"),
        }
    ]
    response = _post(client, issuer, body)
    assert response.status_code == 200, response.text
    # The normal form is what went on the wire, not the raw link.
    assert [s.target for s in listener.seen] == [
        "/fhir/MedicationRequest?patient=pt-overlap&page=2"
    ]
    assert listener.seen[0].authorization == f"Bearer {TOKEN}"


@pytest.mark.parametrize("bad", ["\u0000", "\u007f", "\n", "\u001b"])
def test_next_link_with_control_character_is_412(
    client: TestClient, issuer: TestIssuer, listener: Listener, bad: str
) -> None:
    body = _prefetched(listener)
    body["prefetch"]["medications"]["link"] = [
        {"relation": "next", "url": (f"{listener.base}/MedicationRequest?page=2{bad}x")}
    ]
    response = _post(client, issuer, body)
    assert response.status_code == 412, response.text
    assert "MedicationRequest for the patient" in response.text
    assert "next link" in response.text and "control character" in response.text
    assert listener.seen == []


def _add_referenced_order(body: dict[str, Any], reference: str) -> None:
    order = copy.deepcopy(body["prefetch"]["medications"]["entry"][-1]["resource"])
    order.pop("medicationCodeableConcept", None)
    order["id"] = "mr-by-reference"
    order["medicationReference"] = {"reference": reference, "display": "lorazepam tablet"}
    body["prefetch"]["medications"]["entry"].append({"resource": order})


@pytest.mark.parametrize(
    "reference",
    [f"{link}/Medication/m1" for link in OUTSIDE]
    + ["{base}/Medication/%2e%2e/%2e%2e/outside/Medication/m1"],
)
def test_medication_reference_normalizing_outside_is_not_fetched(
    client: TestClient,
    issuer: TestIssuer,
    listener: Listener,
    root_records: RecordList,
    reference: str,
) -> None:
    body = _prefetched(listener)
    _add_referenced_order(body, _fill(reference, listener))
    response = _post(client, issuer, body)
    assert response.status_code == 200, response.text
    assert listener.seen == []
    skips = _skips(root_records)
    assert skips.get("medication-reference-off-server") == 1, skips


def test_medication_reference_on_the_server_is_fetched_in_normal_form(
    client: TestClient, issuer: TestIssuer, listener: Listener
) -> None:
    body = _prefetched(listener)
    _add_referenced_order(body, f"{listener.base}/Medication/./x/../m1")
    response = _post(client, issuer, body)
    assert response.status_code == 200, response.text
    assert [(s.target, s.authorization) for s in listener.seen] == [
        ("/fhir/Medication/m1", f"Bearer {TOKEN}")
    ]


@pytest.mark.parametrize("bad", ["\u0000", "\u007f"])
def test_medication_reference_with_control_character_is_skipped(
    client: TestClient, issuer: TestIssuer, listener: Listener, root_records: RecordList, bad: str
) -> None:
    body = _prefetched(listener)
    _add_referenced_order(body, f"{listener.base}/Medication/m{bad}1/../m1")
    response = _post(client, issuer, body)
    assert response.status_code == 200, response.text
    assert listener.seen == []
    assert _skips(root_records).get("medication-reference-unreadable") == 1


@pytest.mark.parametrize("bad", ["\u0000", "\u007f", "\t"])
def test_envelope_fhir_server_with_control_character_is_400(
    client: TestClient, issuer: TestIssuer, listener: Listener, bad: str
) -> None:
    response = _post(client, issuer, _fallback(f"{listener.base}/x{bad}y"))
    assert response.status_code == 400, response.text
    assert "fhirServer" in response.text and "control character" in response.text
    assert listener.seen == []
