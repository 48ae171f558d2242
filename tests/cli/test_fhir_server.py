"""`benzo-cds fhir-server`: a read-only FHIR R4 server over a folder of bundles, dates moved."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from app.fhir.prefetch import PREFETCH
from app.fhir_server.app import build_app
from app.fhir_server.store import FolderError, load_folder
from tests.cli.conftest import cli_env
from tests.cli.fhir_standin import free_port
from tests.conftest import FIXTURES

BUNDLES = FIXTURES / "bundles"
WRITTEN = date(2026, 11, 23)
DAY = date(2027, 2, 1)
SANDBOX = FIXTURES / "sandbox"


@pytest.fixture(scope="module")
def fhir() -> Iterator[TestClient]:
    with TestClient(build_app(load_folder(BUNDLES, DAY), "test")) as client:
        yield client


def test_metadata_is_an_r4_capability_statement(fhir: TestClient) -> None:
    answer = fhir.get("/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    statement = answer.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1" and statement["kind"] == "instance"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Patient", "MedicationRequest", "Condition", "CarePlan"} <= types


def test_read_and_not_found(fhir: TestClient) -> None:
    patient = fhir.get("/Patient/pt-overlap").json()
    assert patient["resourceType"] == "Patient" and patient["id"] == "pt-overlap"
    missing = fhir.get("/Patient/nobody")
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert fhir.get("/not-a-type/x").status_code == 404


def test_dates_are_moved_from_the_manifest_day(fhir: TestClient) -> None:
    written = json.loads((BUNDLES / "pt-overlap.json").read_text())
    served = fhir.get("/MedicationRequest", params={"patient": "pt-overlap"}).json()
    before = {
        e["resource"]["id"]: e["resource"]["authoredOn"]
        for e in written["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    }
    after = {e["resource"]["id"]: e["resource"]["authoredOn"] for e in served["entry"]}
    assert before.keys() == after.keys()
    for rid, value in before.items():
        moved = date.fromisoformat(after[rid]) - date.fromisoformat(value)
        assert moved.days == (DAY - WRITTEN).days
    patient = fhir.get("/Patient/pt-overlap").json()
    birth = next(
        e["resource"]["birthDate"]
        for e in written["entry"]
        if e["resource"]["resourceType"] == "Patient"
    )
    assert (date.fromisoformat(patient["birthDate"]) - date.fromisoformat(birth)).days == (
        DAY - WRITTEN
    ).days


@pytest.mark.parametrize(
    "query",
    [
        {"patient": "pt-overlap"},
        {"subject": "Patient/pt-overlap"},
        {"patient": "http://127.0.0.1/Patient/pt-overlap"},
    ],
)
def test_search_by_patient_or_subject(fhir: TestClient, query: dict[str, str]) -> None:
    bundle = fhir.get("/Condition", params=query).json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    for entry in bundle["entry"]:
        assert entry["resource"]["subject"]["reference"] == "Patient/pt-overlap"
        assert entry["search"] == {"mode": "match"}
        assert entry["fullUrl"] == f"http://testserver/Condition/{entry['resource']['id']}"


def test_post_search_as_the_sandbox_sends_it(fhir: TestClient) -> None:
    form = fhir.post(
        "/MedicationRequest/_search",
        content="patient=pt-overlap",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "accept": "application/json+fhir",
        },
    )
    get = fhir.get("/MedicationRequest", params={"patient": "pt-overlap"})
    assert form.status_code == 200
    assert [e["resource"] for e in form.json()["entry"]] == [
        e["resource"] for e in get.json()["entry"]
    ]
    assert fhir.post("/Condition/_search", json={"patient": "x"}).status_code == 415


def test_empty_search_and_all_patients(fhir: TestClient) -> None:
    empty = fhir.get("/CarePlan", params={"patient": "pt-overlap"}).json()
    assert empty["total"] == 0 and "entry" not in empty
    everyone = fhir.get("/Patient").json()
    assert everyone["total"] == len(list(BUNDLES.glob("*.json")))


def test_paging_follows_next_links(fhir: TestClient) -> None:
    page = fhir.get("/Condition", params={"_count": "3"}).json()
    seen = []
    while True:
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        page = fhir.get(following[0].removeprefix("http://testserver")).json()
    assert len(seen) == len(set(seen)) == page["total"] > 3


def test_unsupported_parameters(fhir: TestClient) -> None:
    lenient = fhir.get("/Condition", params={"patient": "pt-overlap", "code": "x"}).json()
    assert lenient["total"] == 2
    assert "code=" not in lenient["link"][0]["url"]  # FHIR: the self link shows what applied
    strict = fhir.get("/Condition", params={"code": "x"}, headers={"prefer": "handling=strict"})
    assert strict.status_code == 400 and "code" in strict.json()["issue"][0]["diagnostics"]
    assert fhir.get("/Condition", params={"_count": "many"}).status_code == 400


def test_read_only_and_cors_for_the_sandbox(fhir: TestClient) -> None:
    assert fhir.put("/Patient/pt-overlap", json={}).status_code == 405
    assert fhir.delete("/Patient/pt-overlap").status_code == 405
    preflight = fhir.options(
        "/Condition/_search",
        headers={
            "origin": "https://sandbox.cds-hooks.org",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
            "access-control-request-private-network": "true",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-private-network"] == "true"
    simple = fhir.get("/Patient/pt-overlap", headers={"origin": "https://sandbox.cds-hooks.org"})
    assert simple.headers["access-control-allow-origin"] == "*"


def test_synthea_style_bundles_get_server_references(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:p-1", "resource": {"resourceType": "Patient", "id": "p-1"}},
            {
                "fullUrl": "urn:uuid:m-1",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "m-1",
                    "status": "active",
                    "subject": {"reference": "urn:uuid:p-1"},
                    "authoredOn": "2020-01-01",
                },
            },
        ],
    }
    (tmp_path / "p.json").write_text(json.dumps(bundle))
    (tmp_path / "broken.json").write_text("{")
    store = load_folder(tmp_path, date(2020, 1, 11))
    order = store.read("MedicationRequest", "m-1")
    assert order is not None and order["subject"] == {"reference": "Patient/p-1"}
    assert order["authoredOn"] == "2020-01-11"  # latest clinical date -> the chosen day
    assert [(f.name, f.error is not None) for f in store.files] == [
        ("broken.json", True),
        ("p.json", False),
    ]
    assert (
        load_folder(tmp_path, date(2020, 1, 11), shift=False).read("MedicationRequest", "m-1")[
            "authoredOn"
        ]
        == "2020-01-01"
    )


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_folders_that_cannot_be_served(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("{}")
    with pytest.raises(FolderError):
        load_folder(target, DAY)


# ------------------------------------------------ the CDS Hooks Sandbox's prefetch, reproduced


def _sandbox_prefetch(fhir: TestClient, patient_id: str) -> dict[str, Any]:
    """What the Sandbox does for each prefetch template (src/retrieve-data-helpers/
    service-exchange.js): GET an instance read, POST [type]/_search for a search."""
    found: dict[str, Any] = {}
    headers = {"accept": "application/json+fhir"}
    for key, template in PREFETCH.items():
        query = template.replace("{{context.patientId}}", patient_id)
        path, _, params = query.partition("?")
        if not params:
            found[key] = fhir.get(f"/{path}", headers=headers).json()
        else:
            found[key] = fhir.post(
                f"/{path}/_search",
                content=params,
                headers=headers | {"content-type": "application/x-www-form-urlencoded"},
            ).json()
    return found


CAPTURES = sorted(p.name for p in SANDBOX.glob("benzo-safety-*.json"))


@pytest.mark.parametrize("capture", CAPTURES)
def test_the_sandbox_would_prefetch_what_it_sent(capture: str) -> None:
    # The captures came from fhir_fixtures/bundles moved to the day they were taken: the same
    # folder, moved by this server to that day, gives the same resources.
    sent = json.loads((SANDBOX / capture).read_text())["body"]
    with TestClient(build_app(load_folder(BUNDLES, date(2026, 11, 27)))) as fhir:
        ours = _sandbox_prefetch(fhir, sent["context"]["patientId"])
    assert ours["patient"] == sent["prefetch"]["patient"]
    for key in ("medications", "conditions", "carePlans", "serviceRequests"):

        def resources(bundle: dict[str, Any]) -> list[Any]:
            return sorted((e["resource"] for e in bundle.get("entry", [])), key=lambda r: r["id"])

        assert ours[key]["total"] == sent["prefetch"][key]["total"]
        assert resources(ours[key]) == resources(sent["prefetch"][key]), key


# ------------------------------------------------------- README: fhir-server, then review


def test_command_serves_the_bundles_for_review_on_any_day(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path / "r.db")
    del env["BENZO_CDS_EVALUATION_DATE"]  # today, whatever day the test runs
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "fhir-server", str(BUNDLES), "--port", str(port)],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert server.stdout is not None
        banner, deadline = "", time.monotonic() + 30
        while "FHIR R4 base URL" not in banner and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line or server.poll() is None, banner
            banner += line
        today = datetime.now(UTC).date()
        assert f"Dates moved to {today.isoformat()}" in banner
        base = f"http://127.0.0.1:{port}"
        assert f"FHIR R4 base URL: {base}" in banner
        review = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "review",
                "--fhir-server",
                base,
                "--patient",
                "pt-overlap",
                "--json",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert review.returncode == 0, review.stderr
        cards = json.loads(review.stdout)["cards"]
        assert sorted((c["source"]["topic"]["code"], c["indicator"]) for c in cards) == [
            ("opioid-benzodiazepine-overlap", "critical"),
            ("taper-plan", "warning"),
        ]
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_command_refuses_a_missing_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "fhir-server",
            str(tmp_path / "none"),
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        env=cli_env(tmp_path / "r.db"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"benzo-cds fhir-server: {tmp_path / 'none'} does not exist" in done.stderr


def test_urlencode_of_self_link_round_trips(fhir: TestClient) -> None:
    query = urlencode({"patient": "pt-overlap", "_count": "1"})
    first = fhir.get(f"/MedicationRequest?{query}").json()
    self_link = first["link"][0]["url"].removeprefix("http://testserver")
    assert fhir.get(self_link).json()["entry"] == first["entry"]
