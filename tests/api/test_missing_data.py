"""Data the EHR did not send (issue #10 item 3): 412 only without Patient or MedicationRequest.

The spec calls prefetch a request, not a requirement (CDS Hooks 2.0 "Prefetch"): a client may
honour only some templates. Rules that need the missing data stay quiet; rules that only read
it run and say in the card what they could not check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.cards import RULES, cbti_referral, geriatric, off_ramp, opioid_overlap, taper_plan
from tests.api.ehr_shapes import (
    ANXIETY,
    INSOMNIA,
    PID,
    SERVICE,
    cards_by_rule,
    hook,
    med_request,
    renewals,
)
from tests.cards.builders import C, cond, med, record, settings
from tests.observability.metrics_text import sample

OVERLAP, TAPER, GERIATRIC, CBTI, OFF_RAMP = (
    "opioid-benzodiazepine-overlap",
    "taper-plan",
    "geriatric-risk",
    "cbti-referral",
    "off-ramp",
)
PARTIAL = ("patient", "medications", "conditions")


def _chart() -> list[dict[str, Any]]:
    return [
        *renewals("alprazolam", months=3),
        med_request("mr-oxycodone", "oxycodone", days_ago=3, prn=True),
        med_request("mr-zolpidem", "zolpidem", days_ago=60),
    ]


def test_partial_prefetch_without_fhir_server_answers_with_the_overlap_card(
    make_client: Callable[..., TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    """Only patient, medications and conditions; no fhirServer: 200, overlap card, caveats."""
    client = make_client()
    before = client.get("/metrics").text
    capsys.readouterr()
    body = hook(meds=_chart(), conditions=[ANXIETY, INSOMNIA], keys=PARTIAL, age=70)
    assert "fhirServer" not in body
    response = client.post(SERVICE["patient-view"], json=body)
    cards = cards_by_rule(response)

    assert OVERLAP in cards and "no Conditions" not in cards[OVERLAP]["detail"]
    # Taper plans live in CarePlans: the card says it could not see them.
    assert ("Not checked (no CarePlans or ServiceRequests sent): taper plan, review.") in cards[
        TAPER
    ]["detail"]
    # The CBT-I card needs the referrals it would otherwise duplicate: it stays quiet.
    assert CBTI not in cards
    assert GERIATRIC in cards

    after = client.get("/metrics").text
    for key in ("carePlans", "serviceRequests"):
        name, labels = (
            "cds_data_missing_total",
            {"service": "benzo-safety-patient-view", "key": key},
        )
        assert sample(after, name, **labels) == sample(before, name, **labels) + 1
    assert sample(after, "cds_data_missing_total", key="conditions") == sample(
        before, "cds_data_missing_total", key="conditions"
    )

    logs = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    [missing] = [e for e in logs if e["msg"] == "data missing"]
    assert missing["missing"] == ["carePlans", "serviceRequests"]
    [answered] = [e for e in logs if e["msg"] == "hook answered"]
    assert answered["sources"]["carePlans"] == "unavailable"
    assert PID not in json.dumps(logs) and "Marsh" not in json.dumps(logs)


def test_without_conditions_the_overlap_card_names_what_it_could_not_check(
    client: TestClient,
) -> None:
    body = hook(meds=_chart(), keys=("patient", "medications"))
    cards = cards_by_rule(client.post(SERVICE["patient-view"], json=body))
    detail = cards[OVERLAP]["detail"]
    assert (
        "Not checked (no Conditions sent): cancer, end-of-life care, sickle cell disease, "
        "sleep apnea, substance use disorder."
    ) in detail
    assert "seizure disorder" in cards[TAPER]["detail"]


def test_null_prefetch_is_no_data_not_missing_data(client: TestClient) -> None:
    """JSON null means "the client has none": nothing is missing, no caveat is shown."""
    body = hook(meds=_chart(), conditions=[ANXIETY])
    body["prefetch"]["carePlans"] = None
    body["prefetch"]["serviceRequests"] = None
    cards = cards_by_rule(client.post(SERVICE["patient-view"], json=body))
    assert TAPER in cards and "were available" not in cards[TAPER]["detail"]


@pytest.mark.parametrize("key", ["patient", "medications"])
def test_no_patient_or_no_medications_is_412(client: TestClient, key: str) -> None:
    body = hook(meds=_chart(), keys=tuple(k for k in PARTIAL if k != key))
    response = client.post(SERVICE["patient-view"], json=body)
    assert response.status_code == 412, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    text = outcome["issue"][0]["diagnostics"]
    assert ("MedicationRequest" if key == "medications" else "Patient") in text
    assert "Condition" not in text and "CarePlan" not in text


def test_order_select_with_partial_prefetch(client: TestClient) -> None:
    clonazepam = med_request("mr-clonazepam", "clonazepam", days_ago=60, supply_days=30)
    draft = med_request(
        "draft-oxycodone", "oxycodone", status="draft", days_ago=None, supply_days=5, prn=True
    )
    body = hook("order-select", meds=[clonazepam], drafts=[draft], keys=PARTIAL)
    assert OVERLAP in cards_by_rule(client.post(SERVICE["order-select"], json=body))


def test_discovery_says_which_data_is_optional(client: TestClient) -> None:
    services = client.get("/cds-services").json()["services"]
    for service in services:
        assert "optional" in service["usageRequirements"]


# --- what each rule declares, and the registry honouring it -------------------------------


def test_each_rule_declares_the_data_it_needs() -> None:
    declared = {
        m.RULE_ID: m.REQUIRES
        for m in (opioid_overlap, taper_plan, off_ramp, geriatric, cbti_referral)
    }
    assert set(declared) == set(RULES)
    for requires in declared.values():
        assert {"Patient", "MedicationRequest"} <= requires
    assert declared[cbti_referral.RULE_ID] >= {"ServiceRequest", "CarePlan"}
    assert declared[opioid_overlap.RULE_ID] == {"Patient", "MedicationRequest"}


@pytest.mark.parametrize(
    ("missing", "quiet"),
    [
        ((), set()),
        (("CarePlan",), {CBTI}),
        (("ServiceRequest",), {CBTI}),
        (("Condition",), set()),
    ],
)
def test_registry_keeps_a_rule_quiet_when_its_required_data_is_missing(
    missing: tuple[str, ...], quiet: set[str]
) -> None:
    rec = record(
        age=70,
        meds=[med("zolpidem", daily=10, days_ago=200), med("oxycodone", mme=30)],
        conditions=[cond(C.INSOMNIA)],
        missing=missing,
    )
    fired = {rule_id for rule_id, rule in RULES.items() if rule(rec, settings())}
    assert fired == {OVERLAP, TAPER, GERIATRIC, CBTI} - quiet
