"""`benzo-cds review` end to end against a FHIR server stand-in on loopback, run as a subprocess."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import TOKEN
from tests.cli.fhir_standin import free_port

PATIENT = "pt-overlap"
OVERLAP = "opioid-benzodiazepine-overlap"

LORAZEPAM_DRAFT: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "draft-dx-lorazepam",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [
            {
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "197901",
                "display": "lorazepam 1 MG Oral Tablet",
            }
        ],
        "text": "lorazepam 1 MG Oral Tablet",
    },
    "subject": {"reference": f"Patient/{PATIENT}"},
    "authoredOn": "2026-11-23",
    "dosageInstruction": [
        {
            "text": "1 mg by mouth twice daily",
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg"}}],
        }
    ],
}


def _assert_clean_failure(result: Any, *phrases: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_text_output_shows_cards(run_cli: Callable[..., Any], standin: Any) -> None:
    base, app = standin
    before = len(app.state.seen)
    result = run_cli("review", "--fhir-server", base, "--patient", PATIENT, "--token", TOKEN)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in result.stderr
    assert "Patient age 52" in out and "evaluated 2026-11-23 (patient-view)" in out
    overlap = next(line for line in out.splitlines() if line.startswith("[CRITICAL]"))
    assert "oxycodone" in overlap and "alprazolam" in overlap
    assert any(line.startswith("[WARNING]") and "alprazolam" in line for line in out.splitlines())
    assert "-> suggestion: Order naloxone" in out
    assert "-> suggestion: Propose a gradual taper plan for alprazolam" in out
    assert "\033[" not in out  # not a terminal: no colour codes
    # It really went to the server: Patient read plus the four searches.
    assert {"/r4/Patient/pt-overlap", "/r4/MedicationRequest", "/r4/Condition"} <= set(
        app.state.seen[before:]
    )


def test_json_output_matches_http(
    run_cli: Callable[..., Any], standin: Any, make_client: Callable[..., Any]
) -> None:
    base, _ = standin
    result = run_cli(
        "review", "--fhir-server", base, "--patient", PATIENT, "--token", TOKEN, "--json"
    )
    assert result.returncode == 0, result.stderr
    cli_cards = json.loads(result.stdout)["cards"]
    request = {
        "hook": "patient-view",
        "hookInstance": "7d3c9a0e-0000-4000-8000-000000000001",
        "fhirServer": base,
        "context": {"userId": "Practitioner/x", "patientId": PATIENT},
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read",
            "subject": "ehr",
        },
    }
    response = make_client().post("/cds-services/benzo-safety-patient-view", json=request)
    assert response.status_code == 200, response.text
    http_cards = response.json()["cards"]
    # Over HTTP the taper card links to this service's planner (#16) at the request's base URL;
    # the CLI has no service URL unless BENZO_CDS_PUBLIC_BASE_URL is set, so it has no such link.
    for card in http_cards:
        planner = [x for x in card.get("links", []) if "/taper-planner?" in x["url"]]
        card["links"] = [x for x in card.get("links", []) if x not in planner]
        assert bool(planner) == (card["source"]["topic"]["code"] == "taper-plan")
    assert cli_cards == http_cards
    assert sorted(c["source"]["topic"]["code"] for c in cli_cards) == [OVERLAP, "taper-plan"]


def test_order_select_with_draft(run_cli: Callable[..., Any], standin: Any, tmp_path: Path) -> None:
    base, _ = standin
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(LORAZEPAM_DRAFT))
    result = run_cli(
        "review",
        "--fhir-server",
        base,
        "--patient",
        PATIENT,
        "--token",
        TOKEN,
        "--hook",
        "order-select",
        "--draft-order",
        str(draft),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    cards = json.loads(result.stdout)["cards"]
    overlap = [c for c in cards if c["source"]["topic"]["code"] == OVERLAP]
    assert overlap and "lorazepam" in overlap[0]["summary"]
    assert "oxycodone" in overlap[0]["summary"]


def test_order_select_needs_a_draft(run_cli: Callable[..., Any], standin: Any) -> None:
    base, _ = standin
    result = run_cli(
        "review", "--fhir-server", base, "--patient", PATIENT, "--hook", "order-select"
    )
    _assert_clean_failure(result, "needs at least one --draft-order")
    assert result.returncode == 2


def test_unreachable_server(run_cli: Callable[..., Any]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/r4"  # bound then released: nothing listens
    result = run_cli("review", "--fhir-server", closed, "--patient", PATIENT)
    _assert_clean_failure(result, "FHIR server unreachable", "check --fhir-server")
    assert result.returncode == 1


def test_wrong_token_is_401(run_cli: Callable[..., Any], standin: Any) -> None:
    base, _ = standin
    result = run_cli(
        "review", "--fhir-server", base, "--patient", PATIENT, "--token", "wrong-token"
    )
    _assert_clean_failure(result, "FHIR server answered 401", "--token")
    assert "wrong-token" not in result.stderr


def test_missing_token_is_401(run_cli: Callable[..., Any], standin: Any) -> None:
    base, _ = standin
    result = run_cli("review", "--fhir-server", base, "--patient", PATIENT)
    _assert_clean_failure(result, "FHIR server answered 401")


def test_unknown_patient_is_404(run_cli: Callable[..., Any], standin: Any) -> None:
    base, _ = standin
    result = run_cli(
        "review", "--fhir-server", base, "--patient", "no-such-patient", "--token", TOKEN
    )
    _assert_clean_failure(result, "Patient resource", "FHIR server answered 404", "check --patient")
    assert "no-such-patient" not in result.stderr


def test_bad_arguments(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    bad_date = run_cli(
        "review", "--fhir-server", "http://127.0.0.1:9/r4", "--patient", "p", "--date", "2026-13-01"
    )
    _assert_clean_failure(bad_date, "is not a date")
    missing = run_cli(
        "review",
        "--fhir-server",
        "http://127.0.0.1:9/r4",
        "--patient",
        "p",
        "--hook",
        "order-sign",
        "--draft-order",
        str(tmp_path / "absent.json"),
    )
    _assert_clean_failure(missing, "cannot read")
    not_url = run_cli("review", "--fhir-server", "not-a-url", "--patient", "p")
    _assert_clean_failure(not_url, "fhirServer", "absolute http(s) URL")
