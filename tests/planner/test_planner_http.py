"""The planner over HTTP from a real taper card's link: same plan as the card, no patient data."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.careplan import CarePlan

from tests.api.test_taper_card_http import CASES, _careplans, _request, _steps, _taper_card

ALLOWED_KEYS = {"drug", "form", "strength", "dose", "start", "pace"}


def planner_link(card: dict[str, Any]) -> str:
    [link] = [x for x in card["links"] if "/taper-planner?" in x["url"]]
    assert link["type"] == "absolute"
    return str(link["url"])


def _without_product(activity: dict[str, Any]) -> dict[str, Any]:
    detail = {k: v for k, v in activity["detail"].items() if k != "productCodeableConcept"}
    return {**activity, "detail": detail}


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.mark.parametrize(
    ("code", "display", "dose", "per_day", "when", "expected", "switch"),
    CASES,
    ids=[c[1] for c in CASES],
)
def test_planner_from_the_card_link_gives_the_cards_careplan(
    client: TestClient,
    code: str,
    display: str,
    dose: float,
    per_day: int,
    when: list[str],
    expected: list[float],
    switch: float | None,
) -> None:
    body = _request(code, display, dose, per_day, when)
    card = _taper_card(client, body)
    url = planner_link(card)
    params = parse_qs(urlsplit(url).query)
    assert set(params) <= ALLOWED_KEYS and {"drug", "dose", "start", "pace"} <= set(params)
    assert urlsplit(url).netloc == "testserver"  # no public_base_url: the request's host
    patient = body["context"]["patientId"]
    assert patient not in url and "patient" not in url.lower() and "mr-taper" not in url

    page = client.get(_local(url))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "no-referrer" in page.headers["referrer-policy"]
    answer = client.get(_local(url).replace("/taper-planner?", "/taper-planner/careplan.json?"))
    assert answer.status_code == 200
    planned = answer.json()
    CarePlan.model_validate(planned)
    card_plan = _careplans(card)[0]
    # The planner and the card never disagree: same steps, notes, period and wording. Only the
    # product differs: the link carries drug, form and strength, not the order's RxNorm code.
    for key in ("note", "period", "title", "description", "category"):
        assert planned[key] == card_plan[key], key
    assert [_without_product(a) for a in planned["activity"]] == [
        _without_product(a) for a in card_plan["activity"]
    ]
    for activity in planned["activity"]:
        product = activity["detail"].get("productCodeableConcept")
        assert product is None or product["text"].startswith(params["drug"][0])
    assert [s["dailyAmount"]["value"] for s in _steps(planned)] == expected
    assert planned["subject"] == {"display": planned["subject"]["display"]}
    assert "reference" not in planned["subject"] and patient not in answer.text
    for step in _steps(planned):
        assert step["description"].split(": ", 1)[0] in page.text  # every date on the page


def test_public_base_url_setting_is_used(make_client: Callable[..., TestClient]) -> None:
    client = make_client(public_base_url="https://cds.example.org/benzo/")
    card = _taper_card(client, _request("308048", "alprazolam 0.5 MG Oral Tablet", 0.5, 2, []))
    assert planner_link(card).startswith("https://cds.example.org/benzo/taper-planner?drug=")


def test_unconfirmed_dose_links_without_a_dose(client: TestClient) -> None:
    body = _request("308048", "alprazolam 0.5 MG Oral Tablet", 0.5, 2, [])
    dosage = body["prefetch"]["medications"]["entry"][0]["resource"]["dosageInstruction"][0]
    # No amount on the order: the dose is unknown (as-needed and range doses are covered by
    # tests/planner/test_link.py on MedicationUse directly).
    del dosage["doseAndRate"]
    dosage["text"] = "take as directed"
    card = _taper_card(client, body)
    url = planner_link(card)
    assert "dose" not in parse_qs(urlsplit(url).query)
    page = client.get(_local(url))
    assert page.status_code == 200
    assert "Confirm the daily dose" in page.text and 'id="schedule"' not in page.text
    confirmed = client.get(_local(url) + "&dose=1")
    assert 'id="schedule"' in confirmed.text
    assert (
        client.get(_local(url).replace("/taper-planner?", "/taper-planner/handout?")).status_code
        == 400
    )


def test_planner_needs_no_token_in_production(make_client: Callable[..., TestClient]) -> None:
    client = make_client(
        environment="production",
        patient_hash_key="k" * 40,
        trusted_issuers=[
            {"iss": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/jwks"}
        ],
    )
    query = "drug=lorazepam&form=tablet&strength=1&dose=3&start=2026-11-23&pace=standard"
    assert client.get(f"/taper-planner?{query}").status_code == 200
    assert client.get(f"/taper-planner/handout?{query}").status_code == 200
    assert client.get(f"/taper-planner/careplan.json?{query}").status_code == 200
    assert client.get("/taper-planner/static/planner.js").status_code == 200
    # The hooks themselves still require the client's JWT.
    assert client.post("/cds-services/benzo-safety-patient-view", json={}).status_code == 401


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("drug=alprazolam&dose=abc", ["dose:"]),
        ("drug=alprazolam&dose=-1", ["dose:"]),
        ("drug=alprazolam&dose=5000", ["dose:"]),
        ("drug=aspirin&dose=1", ["drug:"]),
        ("dose=1", ["drug:"]),
        ("drug=alprazolam&dose=1&start=2026-13-40", ["start:"]),
        ("drug=alprazolam&dose=1&start=1999-01-01", ["start:"]),
        ("drug=alprazolam&dose=1&pace=fast", ["pace:"]),
        ("drug=alprazolam&dose=1&form=patch", ["form:"]),
        ("drug=zolpidem&dose=10&switch=diazepam", ["switch:"]),
        ("drug=alprazolam&dose=1&switch=lorazepam", ["switch:"]),
        ("drug=alprazolam&dose=1&hold=3:5", ["hold:"]),
        ("drug=alprazolam&dose=1&hold=3:2&hold=3:4", ["hold:"]),
        ("drug=alprazolam&dose=1&times=lunchtime", ["times:"]),
        ("drug=alprazolam&dose=1&dose=2", ["dose:"]),
        ("drug=alprazolam&dose=1&patient=123", ["unknown parameters: patient"]),
        ("drug=alprazolam&dose=<script>alert(1)</script>&start=x", ["dose:", "start:"]),
    ],
)
def test_bad_links_get_a_clear_400_page(client: TestClient, query: str, names: list[str]) -> None:
    for path in ("/taper-planner", "/taper-planner/handout"):
        page = client.get(f"{path}?{query}")
        assert page.status_code == 400, (path, query)
        assert page.headers["content-type"].startswith("text/html")
        assert "could not read this link" in page.text
        for name in names:
            assert name in page.text
        assert "<script>alert" not in page.text and "123" not in page.text
    outcome = client.get(f"/taper-planner/careplan.json?{query}")
    assert outcome.status_code == 400 and outcome.json()["resourceType"] == "OperationOutcome"


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.split("</tr>")[:-1]


def test_pace_holds_and_switch_recompute(client: TestClient) -> None:
    base = "/taper-planner?drug=clonazepam&form=tablet&strength=0.5&dose=2&start=2026-11-23"
    standard = client.get(f"{base}&pace=standard").text
    slower = client.get(f"{base}&pace=slower").text
    held = client.get(f"{base}&pace=standard&hold=2:2").text
    paused = client.get(f"{base}&pace=standard&hold=2:12").text
    switched = client.get(f"{base.replace('clonazepam', 'alprazolam')}&switch=clonazepam").text
    assert "every 2 weeks" in standard and "every 4 weeks" in slower
    assert len(_rows(standard)) == len(_rows(slower)) == len(_rows(held))
    assert "May 3, 2027" in standard and "Jul 5, 2027" in slower  # the stop dates
    # Holding step 2 two more weeks moves every later step by 14 days; a pause by 12 weeks.
    stop = date(2027, 5, 3)
    assert f"{stop + timedelta(weeks=2):%b} {(stop + timedelta(weeks=2)).day}" in held
    assert 'value="2:2" selected' in held and 'value="2:12" selected' in paused
    assert "class=held" in held
    assert "Switch" in _rows(switched)[0] and "of clonazepam" in switched


def test_holds_past_the_plan_are_dropped_and_said(client: TestClient) -> None:
    page = client.get(
        "/taper-planner?drug=zolpidem&form=tablet&strength=10&dose=10&start=2026-11-23&hold=9:2"
    )
    assert page.status_code == 200
    assert "1 hold(s) did not fit this plan" in page.text


def test_liquid_orders_get_no_tablet_plan(client: TestClient) -> None:
    page = client.get("/taper-planner?drug=lorazepam&form=liquid&dose=2&start=2026-11-23")
    assert page.status_code == 200
    assert "oral liquid" in page.text and 'id="schedule"' not in page.text


def test_careplan_download_is_fhir_json(client: TestClient) -> None:
    answer = client.get(
        "/taper-planner/careplan.json?drug=temazepam&form=capsule&strength=30"
        "&dose=30&start=2026-11-23&pace=slower&hold=1:4"
    )
    assert answer.headers["content-type"].startswith("application/fhir+json")
    assert "attachment" in answer.headers["content-disposition"]
    resource = json.loads(answer.text)
    CarePlan.model_validate(resource)
    assert "every 4 weeks" in resource["description"]


def test_empty_planner_offers_every_marketed_drug(client: TestClient) -> None:
    page = client.get("/taper-planner")
    assert page.status_code == 200
    for drug in ("alprazolam", "zolpidem", "diazepam", "temazepam"):
        assert f'<option value="{drug}">' in page.text
