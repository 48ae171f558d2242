"""The production surface: Bearer challenges on every 401, API docs off, /metrics behind a
token or on its own port, and one log line per feedback POST."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import load_fixture
from tests.security.jwt_factory import TestIssuer
from tests.trust.conftest import PV, RecordList, attach, feedback_body

BASE = "http://testserver"
DOCS = ("/docs", "/redoc", "/openapi.json")
METRICS_TOKEN = "scrape-secret-7d1f"
INVALID = 'Bearer realm="benzo-safety-cds", error="invalid_token"'
NO_CREDENTIALS = 'Bearer realm="benzo-safety-cds"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _production(
    make_client: Callable[..., TestClient], issuer: TestIssuer, **overrides: Any
) -> TestClient:
    return make_client(
        environment="production",
        trusted_issuers=[issuer.trusted],
        patient_hash_key="a-production-hash-key-0123456789",
        **overrides,
    )


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, NO_CREDENTIALS),
        ("Basic dXNlcjpwdw==", NO_CREDENTIALS),
        ("Bearer not-a-jwt", INVALID),
        ("Bearer e30.e30.", INVALID),
    ],
)
@pytest.mark.parametrize("call", ["discovery", "hook", "feedback"])
def test_every_401_carries_a_bearer_challenge(
    make_client: Callable[..., TestClient],
    es_issuer: TestIssuer,
    authorization: str | None,
    challenge: str,
    call: str,
) -> None:
    client = _production(make_client, es_issuer)
    headers = {"Authorization": authorization} if authorization else {}
    response = (
        client.get("/cds-services", headers=headers)
        if call == "discovery"
        else client.post(PV, json=load_fixture("hooks/patient-view-overlap.json"), headers=headers)
        if call == "hook"
        else client.post(f"{PV}/feedback", json=feedback_body(), headers=headers)
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge


def test_a_token_that_fails_late_checks_gets_invalid_token(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer
) -> None:
    client = _production(make_client, es_issuer)
    expired = es_issuer.bearer(f"{BASE}/cds-services", iat_delta=-900, exp_delta=-600)
    response = client.get("/cds-services", headers={"Authorization": expired})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == INVALID
    assert "expired" not in response.text  # the reason stays in our log


def test_api_docs_are_off_in_production_unless_enabled(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer
) -> None:
    production = _production(make_client, es_issuer)
    assert [production.get(path).status_code for path in DOCS] == [404, 404, 404]
    enabled = _production(make_client, es_issuer, api_docs_enabled=True)
    assert [enabled.get(path).status_code for path in DOCS] == [200, 200, 200]
    assert "/cds-services" in enabled.get("/openapi.json").json()["paths"]
    development = make_client()
    assert [development.get(path).status_code for path in DOCS] == [200, 200, 200]
    assert [make_client(api_docs_enabled=False).get(p).status_code for p in DOCS] == [404] * 3


def test_metrics_are_not_served_in_production_by_default(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer
) -> None:
    assert _production(make_client, es_issuer).get("/metrics").status_code == 404
    assert make_client().get("/metrics").status_code == 200  # development: open, as before


def test_metrics_behind_a_bearer_token(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer, root_records: RecordList
) -> None:
    client = _production(make_client, es_issuer, metrics_token=METRICS_TOKEN)
    attach(root_records)
    for headers, challenge in (
        ({}, NO_CREDENTIALS),
        ({"Authorization": "Bearer wrong"}, INVALID),
        ({"Authorization": f"Basic {METRICS_TOKEN}"}, NO_CREDENTIALS),
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == challenge
        assert "cds_calls_total" not in refused.text
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200 and "cds_calls_total" in ok.text
    assert all(METRICS_TOKEN not in text for text in root_records.texts())


@pytest.mark.parametrize("token", [None, METRICS_TOKEN])
def test_metrics_on_their_own_port(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer, token: str | None
) -> None:
    port = free_port()
    client = _production(make_client, es_issuer, metrics_port=port, metrics_token=token)
    assert client.get("/metrics").status_code == 404  # never on the service port
    url = f"http://127.0.0.1:{port}/metrics"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(url, headers=headers, timeout=5)
    assert answer.status_code == 200 and "cds_calls_total" in answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    if token:
        refused = httpx.get(url, timeout=5)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"]
    assert httpx.get(f"http://127.0.0.1:{port}/cds-services", timeout=5).status_code == 404
    client.__exit__(None, None, None)  # the listener stops with the app
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_feedback_post_is_logged_once(
    make_client: Callable[..., TestClient], root_records: RecordList
) -> None:
    client = make_client()
    attach(root_records)
    response = client.post(f"{PV}/feedback", json=feedback_body())
    assert response.status_code == 200
    logged = [r for r in root_records.records if "feedback" in r.getMessage()]
    assert [r.getMessage() for r in logged] == ["feedback stored"]
    assert (logged[0].received, logged[0].stored) == (1, 1)  # type: ignore[attr-defined]
