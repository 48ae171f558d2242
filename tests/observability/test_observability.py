"""Structured JSON logs carry the response's X-Request-ID; /metrics counters move with calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.cli.conftest import TOKEN
from tests.conftest import load_fixture
from tests.observability.metrics_text import sample

PV = "benzo-safety-patient-view"
OVERLAP = "opioid-benzodiazepine-overlap"


def _log_lines(err: str) -> list[dict[str, Any]]:
    lines = [line for line in err.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line must be JSON


def test_hook_log_lines_share_the_response_request_id(
    make_client: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()  # logging is configured here, onto the captured stderr
    capsys.readouterr()
    response = client.post(
        f"/cds-services/{PV}", json=load_fixture("hooks/patient-view-overlap.json")
    )
    assert response.status_code == 200
    rid = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    entries = _log_lines(capsys.readouterr().err)
    answered = [e for e in entries if e["msg"] == "hook answered"]
    assert len(answered) == 1
    assert answered[0]["request_id"] == rid
    assert answered[0]["service"] == PV and OVERLAP in answered[0]["rules"]
    assert all({"ts", "level", "logger", "msg", "request_id"} <= set(e) for e in entries)
    # No patient data in logs: neither the id nor the name from the prefetch.
    assert "pt-overlap" not in json.dumps(entries) and "Marsh" not in json.dumps(entries)


def test_given_request_id_is_echoed_and_bad_one_replaced(
    make_client: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    capsys.readouterr()
    response = client.post(
        f"/cds-services/{PV}",
        headers={"X-Request-ID": "ehr-call-0042"},
        json=load_fixture("hooks/patient-view-overlap.json"),
    )
    assert response.headers["x-request-id"] == "ehr-call-0042"
    answered = [e for e in _log_lines(capsys.readouterr().err) if e["msg"] == "hook answered"]
    assert [e["request_id"] for e in answered] == ["ehr-call-0042"]

    # A header that could forge log lines is not echoed; a fresh id is used instead.
    odd = client.post(
        f"/cds-services/{PV}",
        headers={"X-Request-ID": 'a b" x' * 3},
        json=load_fixture("hooks/patient-view-overlap.json"),
    )
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
    # Error answers carry it too.
    refused = client.post(
        f"/cds-services/{PV}",
        content=b"{",
        headers={"Content-Type": "application/json", "X-Request-ID": "bad-body-1"},
    )
    assert refused.status_code == 400 and refused.headers["x-request-id"] == "bad-body-1"


def _metrics(client: TestClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    return response.text


def test_successful_call_moves_counters(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    before = _metrics(client)
    body = load_fixture("hooks/patient-view-overlap.json")
    response = client.post(f"/cds-services/{PV}", json=body)
    cards = response.json()["cards"]
    after = _metrics(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("cds_calls_total", endpoint="service", service=PV, status="200") == 1
    assert delta("cds_call_duration_seconds_count", service=PV) == 1
    assert delta("cds_call_duration_seconds_sum", service=PV) > 0
    assert delta("cds_cards_total", rule=OVERLAP, indicator="critical") == 1
    assert delta("cds_cards_total", rule="taper-plan", indicator="warning") == 1
    assert delta("cds_cards_total") == len(cards) == 2

    card = next(c for c in cards if c["source"]["topic"]["code"] == OVERLAP)
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": stamp,
                "overrideReason": {"reason": {"code": "not-relevant"}},
            }
        ]
    }
    assert client.post(f"/cds-services/{PV}/feedback", json=feedback).status_code == 200
    final = _metrics(client)
    assert (
        sample(final, "cds_feedback_total", outcome="overridden")
        - sample(after, "cds_feedback_total", outcome="overridden")
        == 1
    )
    assert (
        sample(final, "cds_calls_total", endpoint="feedback", service=PV, status="200")
        - sample(after, "cds_calls_total", endpoint="feedback", service=PV, status="200")
        == 1
    )


def test_refused_calls_are_counted_with_their_service(
    make_client: Callable[..., TestClient], standin: Any
) -> None:
    client = make_client()
    base, _ = standin
    before = _metrics(client)
    bad = client.post(f"/cds-services/{PV}", json={"hook": "patient-view"})
    assert bad.status_code == 400
    no_data = client.post(
        f"/cds-services/{PV}",
        json={
            "hook": "patient-view",
            "hookInstance": "0f7c9a0e-0000-4000-8000-000000000002",
            "context": {"userId": "Practitioner/x", "patientId": "pt-overlap"},
        },
    )
    assert no_data.status_code == 412
    refused_token = client.post(
        "/cds-services/benzo-safety-order-sign",
        json={
            "hook": "order-sign",
            "hookInstance": "0f7c9a0e-0000-4000-8000-000000000003",
            "fhirServer": base,
            "fhirAuthorization": {
                "access_token": TOKEN + "-wrong",
                "token_type": "Bearer",
                "expires_in": 300,
                "scope": "user/Patient.read",
                "subject": "ehr",
            },
            "context": {
                "userId": "Practitioner/x",
                "patientId": "pt-overlap",
                "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": []},
            },
        },
    )
    assert refused_token.status_code == 412, refused_token.text
    assert "FHIR server answered 401" in refused_token.text
    unknown = client.post("/cds-services/no-such-service", json={})
    assert unknown.status_code == 404
    after = _metrics(client)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("cds_calls_total", endpoint="service", service=PV, status="400") == 1
    assert delta("cds_calls_total", endpoint="service", service=PV, status="412") == 1
    assert (
        delta(
            "cds_calls_total", endpoint="service", service="benzo-safety-order-sign", status="412"
        )
        == 1
    )
    assert delta("cds_calls_total", endpoint="service", service="-", status="404") == 1
    # Only gather failures count as FHIR fetch errors; the 400 does not.
    assert delta("cds_fhir_fetch_errors_total", service=PV) == 1
    assert delta("cds_fhir_fetch_errors_total", service="benzo-safety-order-sign") == 1
    assert delta("cds_calls_total", status="200", endpoint="service") == 0
    assert "no-such-service" not in after  # unknown ids never become label values
