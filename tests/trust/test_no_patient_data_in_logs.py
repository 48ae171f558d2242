"""A full run at DEBUG logs no patient ids, names, birth dates, tokens or clinician comments."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient

from tests.conftest import load_fixture
from tests.security.jwt_factory import TestIssuer
from tests.trust.conftest import (
    ALLOWED_FHIR,
    HOOK_FIXTURES,
    PV,
    SERVICE_PATHS,
    RecordList,
    attach,
    feedback_body,
    serve_standin,
    standin_files,
)

FALLBACK = "hooks/patient-view-fallback.json"
COMMENT = "Spoke with Zebulon Quartermaine-Fitzwilliam; prefers to stay on lorazepam"
BASE = "http://testserver"


def _patients(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [value] if value.get("resourceType") == "Patient" else []
        return found + [p for child in value.values() for p in _patients(child)]
    if isinstance(value, list):
        return [p for child in value for p in _patients(child)]
    return []


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def patient_secrets() -> set[str]:
    """Ids, names and birth dates of every patient in the hook fixtures and the stand-in."""
    sources = [load_fixture(name) for name in HOOK_FIXTURES] + [standin_files()["Patient"]]
    secrets: set[str] = set()
    for source in sources:
        context = source.get("context", {}) if isinstance(source, dict) else {}
        secrets.update(_as_list(context.get("patientId")))
        for patient in _patients(source):
            secrets.update(_as_list(patient.get("id")))
            secrets.update(_as_list(patient.get("birthDate")))
            for name in patient.get("name", []):
                secrets.update(_as_list(name.get("given")))
                secrets.update(_as_list(name.get("family")))
                secrets.update(_as_list(name.get("text")))
    return {s for s in secrets if len(s) >= 4}


def test_full_run_logs_no_patient_data(
    make_client: Callable[..., TestClient],
    es_issuer: TestIssuer,
    root_records: RecordList,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets = patient_secrets()
    assert {"pt-overlap", "Daniel", "Marsh", "1974-03-14", "1288992"} <= secrets

    client = make_client(log_level="DEBUG", allowed_fhir_servers=[ALLOWED_FHIR])
    attach(root_records)
    statuses: dict[str, int] = {}

    statuses["discovery"] = client.get("/cds-services").status_code
    for name in HOOK_FIXTURES:
        if name == FALLBACK:
            continue
        request = load_fixture(name)
        response = client.post(SERVICE_PATHS[request["hook"]], json=request)
        statuses[name] = response.status_code

    fallback = load_fixture(FALLBACK)
    access_token = fallback["fhirAuthorization"]["access_token"]
    secrets.add(access_token)
    with respx.mock(assert_all_called=False) as router:
        serve_standin(router, ALLOWED_FHIR)
        statuses["fallback"] = client.post(PV, json=fallback).status_code
    with respx.mock(assert_all_called=False) as router:
        serve_standin(
            router,
            ALLOWED_FHIR,
            Condition=respx.MockResponse(500, json={"resourceType": "OperationOutcome"}),
        )
        statuses["missing"] = client.post(PV, json=fallback).status_code
    with respx.mock(assert_all_called=False) as router:
        serve_standin(
            router,
            ALLOWED_FHIR,
            MedicationRequest=respx.MockResponse(500, json={"resourceType": "OperationOutcome"}),
        )
        statuses["412"] = client.post(PV, json=fallback).status_code

    bad = load_fixture("hooks/patient-view-overlap.json")
    bad["context"]["patientId"] = "Daniel Marsh 1974-03-14 " * 5  # too long: refused
    statuses["400"] = client.post(PV, json=bad).status_code

    feedback = client.post(f"{PV}/feedback", json=feedback_body(comment=COMMENT))
    statuses["feedback"] = feedback.status_code
    secrets.add(COMMENT)
    secrets.update(("Zebulon", "Quartermaine"))

    jwt_client = make_client(
        log_level="DEBUG", jwt_required=True, trusted_issuers=[es_issuer.trusted]
    )
    attach(root_records)
    good = es_issuer.token(f"{BASE}{PV}")
    expired = es_issuer.token(f"{BASE}{PV}", iat_delta=-900, exp_delta=-600)
    secrets.update((good, expired, good.rsplit(".", 1)[1], expired.rsplit(".", 1)[1]))
    overlap = load_fixture("hooks/patient-view-overlap.json")
    statuses["jwt-ok"] = jwt_client.post(
        PV, json=overlap, headers={"Authorization": f"Bearer {good}"}
    ).status_code
    statuses["401"] = jwt_client.post(
        PV, json=overlap, headers={"Authorization": f"Bearer {expired}"}
    ).status_code

    expected = dict.fromkeys(statuses, 200)
    expected.update({"412": 412, "400": 400, "401": 401})
    assert statuses == expected

    stderr = capsys.readouterr().err
    texts = root_records.texts()
    # The run did log, so the absence below means something.
    messages = [r.getMessage() for r in root_records.records]
    for wanted in (
        "hook answered",
        "feedback stored",
        "client authentication failed",
        "request refused",
        "data missing",
    ):
        assert any(wanted in m for m in messages), wanted
    assert stderr.count("\n") >= 10 and all(
        json.loads(line) for line in stderr.splitlines() if line.startswith("{")
    )

    leaks = sorted(
        {
            (secret, text[:300])
            for secret in secrets
            for text in [*texts, *stderr.splitlines()]
            if secret in text
        }
    )
    assert not leaks, leaks
