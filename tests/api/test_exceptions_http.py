"""Issue #11 item 2 through HTTP, on Epic-shaped requests: exceptions where they belong."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.ehr_shapes import (
    INSOMNIA,
    SERVICE,
    SNOMED,
    cards_by_rule,
    care_plan,
    condition,
    hook,
    med_request,
    renewals,
    service_request,
)
from tests.conftest import load_fixture

OVERLAP, TAPER, OFF_RAMP, GERIATRIC = (
    "opioid-benzodiazepine-overlap",
    "taper-plan",
    "off-ramp",
    "geriatric-risk",
)
EPILEPSY = condition("cond-epilepsy", "Epilepsy", snomed="84757009", icd="G40.909")
HOSPICE = {
    **service_request("sr-hospice", "Hospice care"),
    "code": {
        "coding": [
            {"system": SNOMED, "code": "385763009", "display": "Hospice care (regime/therapy)"}
        ]
    },
}


def cards(client: TestClient, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return cards_by_rule(client.post(SERVICE[body["hook"]], json=body))


def draft(rid: str, drug: str, **extra: Any) -> dict[str, Any]:
    return med_request(
        rid, drug, status="draft", days_ago=None, supply_days=None, repeats=None, **extra
    )


def test_zolpidem_for_insomnia_with_epilepsy_still_gets_the_taper_card(client: TestClient) -> None:
    zolpidem = med_request(
        "mr-zol", "zolpidem", days_ago=200, reasonCode=[{"text": "Chronic insomnia"}]
    )
    clonazepam = med_request("mr-clz", "clonazepam", days_ago=400)
    found = cards(client, hook(meds=[zolpidem, clonazepam], conditions=[EPILEPSY, INSOMNIA]))
    assert "zolpidem" in found[TAPER]["summary"]
    assert "clonazepam" not in found[TAPER]["summary"] + found[TAPER]["detail"]


def test_an_opioid_taper_plan_does_not_silence_the_benzodiazepine_card(client: TestClient) -> None:
    alprazolam = med_request("mr-alp", "alprazolam", days_ago=200)
    oxycodone = med_request("mr-oxy", "oxycodone", days_ago=200, prn=True)
    opioid_plan = care_plan("cp-opioid", "Opioid taper")
    assert TAPER in cards(client, hook(meds=[alprazolam, oxycodone], care_plans=[opioid_plan]))
    own_plan = care_plan("cp-alp", "Alprazolam taper")
    assert TAPER not in cards(
        client, hook(meds=[alprazolam, oxycodone], care_plans=[opioid_plan, own_plan])
    )


def test_a_stepped_down_renewal_is_a_documented_taper(client: TestClient) -> None:
    chart = renewals("alprazolam", months=3)
    stepped = {
        **draft("d-alp", "alprazolam"),
        "dosageInstruction": [
            {
                "text": "Take 1 tablet by mouth 2 (two) times daily for 14 days, then 1 tablet at "
                "bedtime for 14 days, then stop."
            }
        ],
    }
    assert TAPER in cards(
        client, hook("order-sign", meds=chart, drafts=[draft("d-same", "alprazolam")])
    )
    assert TAPER not in cards(client, hook("order-sign", meds=chart, drafts=[stepped]))


def test_long_acting_switch_for_a_taper_is_the_off_ramp(client: TestClient) -> None:
    chart = renewals("alprazolam", months=3)
    switch = {
        **draft("d-dzp", "diazepam"),
        "note": [{"text": "Switching from alprazolam to diazepam for a gradual taper"}],
    }
    found = cards(client, hook("order-sign", meds=chart, drafts=[switch]))
    assert OFF_RAMP not in found and TAPER not in found
    plain = draft("d-dzp", "diazepam")
    assert OFF_RAMP in cards(client, hook("order-sign", meds=chart, drafts=[plain]))


def test_no_beers_card_in_hospice_or_for_periprocedural_midazolam(client: TestClient) -> None:
    lorazepam = med_request("mr-lor", "lorazepam", days_ago=60)
    assert GERIATRIC in cards(client, hook(meds=[lorazepam], age=80))
    assert cards(client, hook(meds=[lorazepam], service_requests=[HOSPICE], age=80)) == {}
    midazolam = med_request("mr-mid", "midazolam-injection", days_ago=0, category="inpatient")
    assert GERIATRIC not in cards(client, hook(meds=[midazolam], age=80))


def test_hospice_fixture_has_no_card(make_client) -> None:  # type: ignore[no-untyped-def]
    response = make_client().post(
        SERVICE["patient-view"], json=load_fixture("hooks/patient-view-hospice.json")
    )
    assert response.status_code == 200 and response.json()["cards"] == []


def test_moud_card_keeps_the_moud_and_works_on_the_benzodiazepine(client: TestClient) -> None:
    body = load_fixture("hooks/patient-view-moud.json")
    card = cards(client, body)[OVERLAP]
    detail = card["detail"]
    assert "**Do not withhold or reduce buprenorphine** (FDA 2017)" in detail
    assert "Work on the benzodiazepine" in detail and "taper it gradually" in detail
    assert "MME" not in detail
    assert "- **buprenorphine** (treats opioid use disorder) 8 mg/day" in detail
    assert card["source"]["url"] == "https://www.fda.gov/Drugs/DrugSafety/ucm575307.htm"
    naloxone = [s for s in card["suggestions"] if "naloxone" in s["label"].lower()]
    assert naloxone and naloxone[0]["actions"][0]["resource"]["resourceType"] == "MedicationRequest"


def test_naloxone_not_offered_while_one_is_in_the_draft_orders(client: TestClient) -> None:
    alprazolam = med_request("mr-alp", "alprazolam", days_ago=200)
    oxycodone = draft("d-oxy", "oxycodone", prn=True)
    naloxone = draft("d-nlx", "naloxone", prn=True)
    offered = cards(client, hook("order-select", meds=[alprazolam], drafts=[oxycodone]))[OVERLAP]
    assert any("naloxone" in s["label"].lower() for s in offered["suggestions"])
    for selections in (
        ["MedicationRequest/d-oxy"],
        ["MedicationRequest/d-oxy", "MedicationRequest/d-nlx"],
    ):
        card = cards(
            client,
            hook(
                "order-select",
                meds=[alprazolam],
                drafts=[oxycodone, naloxone],
                selections=selections,
            ),
        )[OVERLAP]
        assert not any("naloxone" in s["label"].lower() for s in card.get("suggestions", []))
        assert "Naloxone is being ordered now." in card["detail"]
