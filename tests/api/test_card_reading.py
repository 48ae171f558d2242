"""Issue #11 item 3 through HTTP: cards a clinician reads in fifteen seconds.

Every fixture's response (fhir_fixtures/hooks and samples) is read as rendered text: at most
DETAIL_WORDS_MAX words a card, valid Markdown, most severe first, one "never stop abruptly" per
response. (tests/api/conftest.py applies the same checks to every EHR-shaped test's response.)
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cards.common import NEVER_STOP
from bench import data
from tests.api.conftest import check_cards
from tests.api.ehr_shapes import SERVICE, cards_by_rule, condition, hook, med_request
from tests.cards.markdown import DETAIL_WORDS_MAX, rendered_words
from tests.conftest import FIXTURES, load_fixture

EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())["fixtures"]
PREFETCHED = sorted(name for name in EXPECTED if "prefetch" in load_fixture(name))
SERVICES = {
    "patient-view": "benzo-safety-patient-view",
    "order-select": "benzo-safety-order-select",
    "order-sign": "benzo-safety-order-sign",
}


def _post(make_client, name: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    request = load_fixture(name)
    client: TestClient = make_client(
        evaluation_date=date.fromisoformat(EXPECTED[name]["evaluation_date"])
    )
    response = client.post(f"/cds-services/{SERVICES[request['hook']]}", json=request)
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def _rule(card: dict[str, Any]) -> str:
    return card["source"]["topic"]["code"]


def test_every_fixture_has_a_response_to_read() -> None:
    folders = {name.split("/")[0] for name in PREFETCHED}
    assert folders == {"hooks", "samples"} and len(PREFETCHED) >= 20


@pytest.mark.parametrize("name", PREFETCHED)
def test_every_fixture_response_reads_in_fifteen_seconds(
    make_client,
    name: str,  # type: ignore[no-untyped-def]
) -> None:
    cards = _post(make_client, name)
    check_cards(cards)
    for card in cards:
        words = rendered_words(card.get("detail", ""))
        assert 0 < words <= DETAIL_WORDS_MAX, (name, _rule(card), words)


@pytest.mark.parametrize(
    ("name", "order"),
    [
        (
            "hooks/patient-view-geriatric-falls.json",
            [("geriatric-risk", "critical"), ("taper-plan", "warning"), ("cbti-referral", "info")],
        ),
        (
            "hooks/patient-view-overlap.json",
            [("opioid-benzodiazepine-overlap", "critical"), ("taper-plan", "warning")],
        ),
        (
            "hooks/order-select-benzo-with-opioid.json",
            [("opioid-benzodiazepine-overlap", "warning"), ("off-ramp", "info")],
        ),
    ],
)
def test_cards_come_most_severe_first_then_by_rule(
    make_client,
    name: str,  # type: ignore[no-untyped-def]
    order: list[tuple[str, str]],
) -> None:
    assert [(_rule(c), c["indicator"]) for c in _post(make_client, name)] == order


@pytest.mark.parametrize(
    ("name", "carrier"),
    [
        ("hooks/patient-view-overlap.json", "opioid-benzodiazepine-overlap"),
        ("hooks/patient-view-moud.json", "opioid-benzodiazepine-overlap"),
        ("hooks/patient-view-geriatric-falls.json", "taper-plan"),
    ],
)
def test_never_stop_abruptly_is_said_once(make_client, name: str, carrier: str) -> None:  # type: ignore[no-untyped-def]
    cards = _post(make_client, name)
    said = [_rule(c) for c in cards if NEVER_STOP in c.get("detail", "")]
    assert said == [carrier]  # the first card that gives the advice keeps it


def test_geriatric_card_points_to_the_taper_card(make_client) -> None:  # type: ignore[no-untyped-def]
    cards = {_rule(c): c for c in _post(make_client, "hooks/patient-view-geriatric-falls.json")}
    geriatric, taper = cards["geriatric-risk"], cards["taper-plan"]
    assert "see the taper-plan card" in geriatric["detail"]
    assert "First step" not in geriatric["detail"] and "suggestions" not in geriatric
    assert "First step" in taper["detail"] and taper["suggestions"]


def test_taper_card_shows_todays_dose_first_step_pace_and_end(make_client) -> None:  # type: ignore[no-untyped-def]
    cards = {_rule(c): c for c in _post(make_client, "hooks/patient-view-overlap.json")}
    lines = cards["taper-plan"]["detail"].splitlines()
    assert lines[0] == "- **alprazolam** 1.5 mg/day, since 2026-05-29 (178 days)"
    assert lines[3].startswith("- First step 2026-11-23: 1.375 mg/day of alprazolam (-8.3%)")
    assert lines[4].startswith("- Pace: about 8% of the starting dose every 2 weeks")
    assert lines[5] == "- Ends 2027-06-28"
    # Every step is in the CarePlan suggestion.
    [plan, _switch] = [
        a["resource"] for s in cards["taper-plan"]["suggestions"] for a in s["actions"]
    ]
    assert len([a for a in plan["activity"] if "dailyAmount" in a["detail"]]) == 12


def test_off_ramp_states_the_course_the_sig_gives(make_client) -> None:  # type: ignore[no-untyped-def]
    cards = {_rule(c): c for c in _post(make_client, "hooks/order-select-benzo-with-opioid.json")}
    detail = cards["off-ramp"]["detail"]
    assert (
        "- **lorazepam** 2 mg/day, new order: 30 days (to 2026-12-23), longer than 28; "
        "ordered for anxiety or panic"
    ) in detail
    assert "no stop date" not in detail


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        (
            [
                {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "239873007",
                            "display": "Osteoarthritis of knee",
                        }
                    ],
                    "text": "Knee osteoarthritis",
                }
            ],
            "reason on the order: Knee osteoarthritis",
        ),
        ([{"text": "Generalized anxiety disorder"}], "ordered for anxiety or panic"),
        (None, "no reason recorded: document why it is used"),
    ],
)
def test_off_ramp_shows_the_reason_on_the_order(
    client: TestClient, reason: list | None, shown: str
) -> None:
    extra = {"reasonCode": reason} if reason else {}
    lorazepam = med_request(
        "d-lor", "lorazepam", status="draft", days_ago=None, supply_days=None, repeats=None, **extra
    )
    cards = cards_by_rule(
        client.post(SERVICE["order-sign"], json=hook("order-sign", drafts=[lorazepam]))
    )
    assert f"no stop date or duration; {shown}" in cards["off-ramp"]["detail"]


# The benchmark's generated patients (EHR-shaped bodies): several PRN opioids, combination
# products, many benzodiazepines and Z-drugs, an older patient with many orders (HEAVY).
BENCH = [(size, seed) for size in (data.TYPICAL, data.HEAVY) for seed in range(8)]


@pytest.mark.parametrize(("size", "seed"), BENCH, ids=[f"{s.name}-{n}" for s, n in BENCH])
def test_many_opioid_patients_read_in_fifteen_seconds(
    make_client,
    size: data.PatientSize,  # type: ignore[no-untyped-def]
    seed: int,
) -> None:
    """Every card fits the budget (checked by the api conftest as each answer arrives), and the
    overlap card still names the drugs, the MME, naloxone and the action."""
    client = make_client(evaluation_date=data.EVALUATION_DATE)
    patient = data.make_patient(size, seed=seed, patient_id=f"bench-{seed}")
    for body in (data.patient_view_request(patient), data.order_select_request(patient, seed=seed)):
        response = client.post(SERVICE[body["hook"]], json=body)
        assert response.status_code == 200
        overlap = cards_by_rule(response).get("opioid-benzodiazepine-overlap")
        if overlap:
            detail = overlap["detail"]
            assert "MME/day" in detail and "naloxone" in detail.lower() and "**Do" in detail
            for name in overlap["summary"].split(": ", 1)[1].split(". ")[0].split(", "):
                assert name.split(" +")[0] in detail, (name, detail)


def test_prn_opioids_without_conditions_over_http(client: TestClient) -> None:
    """An EHR chart with six as-needed oxycodone orders, methadone and buprenorphine-naloxone,
    three sedatives and no Conditions sent: the longest fixed text the overlap card has."""
    meds = [med_request(f"oxy-{i}", "oxycodone", days_ago=5 * i, prn=True) for i in range(6)]
    meds += [
        med_request("mtd", "methadone", days_ago=90),
        med_request("bup", "buprenorphine-naloxone", days_ago=30),
    ]
    meds += [
        med_request(drug, drug, days_ago=200, prn=drug == "lorazepam")
        for drug in ("alprazolam", "lorazepam", "zolpidem")
    ]
    body = hook(meds=meds, age=71, keys=("patient", "medications", "carePlans", "serviceRequests"))
    overlap = cards_by_rule(client.post(SERVICE["patient-view"], json=body))[
        "opioid-benzodiazepine-overlap"
    ]
    assert "MME/day" in overlap["detail"] and "buprenorphine" in overlap["detail"]
    assert "Not checked (no Conditions sent)" in overlap["detail"]
    assert rendered_words(overlap["detail"]) <= DETAIL_WORDS_MAX


def test_moud_with_sedatives_over_http(client: TestClient) -> None:
    """Opioid use disorder treated with buprenorphine, several sedatives: no MME for it."""
    meds = [med_request("bup", "buprenorphine-naloxone", days_ago=30)]
    meds += [
        med_request(drug, drug, days_ago=200)
        for drug in ("alprazolam", "clonazepam", "lorazepam", "diazepam", "zolpidem")
    ]
    oud = condition("c1", "Opioid use disorder", snomed="5602001", icd="F11.20")
    overlap = cards_by_rule(
        client.post(SERVICE["patient-view"], json=hook(meds=meds, conditions=[oud], age=70))
    )["opioid-benzodiazepine-overlap"]
    assert "Do not withhold or reduce buprenorphine" in overlap["detail"]
    assert "MME" not in overlap["detail"]
