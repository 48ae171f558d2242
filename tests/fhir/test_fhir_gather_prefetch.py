"""gather(): what is taken from prefetch and context, and when nothing is fetched."""

from __future__ import annotations

import httpx
import pytest
import respx
from gather_builders import (
    PID,
    SERVER,
    bundle,
    chart,
    full_prefetch,
    hook_request,
    med_request,
    medication,
    patient,
    run_gather,
    search_url,
    service,
    settings,
)

from app.errors import PreconditionFailed
from app.fhir.gather import gather


async def test_full_prefetch_sends_no_request(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    got = await run_gather(
        "patient-view",
        fhir_client,
        prefetch=full_prefetch(
            carePlans=bundle(chart("CarePlan", "cp-1")),
            serviceRequests=bundle(chart("ServiceRequest", "sr-1")),
        ),
    )
    assert fhir.calls.call_count == 0
    assert got.patient == patient()
    assert [r["id"] for r in got.medication_requests] == ["mr-1"]
    assert [r["id"] for r in got.conditions] == ["c-1"]
    assert [r["id"] for r in got.care_plans] == ["cp-1"]
    assert [r["id"] for r in got.service_requests] == ["sr-1"]
    assert got.sources == dict.fromkeys(
        ("patient", "medications", "conditions", "carePlans", "serviceRequests"), "prefetch"
    )
    assert got.patient_id == PID and got.hook == "patient-view"
    assert got.skipped == {}


async def test_null_prefetch_means_no_data_and_no_fetch(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(search_url("MedicationRequest"))
    got = await run_gather("patient-view", fhir_client, prefetch=full_prefetch(medications=None))
    assert not route.called
    assert got.medication_requests == []
    assert got.sources["medications"] == "prefetch-null"


async def test_null_patient_prefetch_is_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    with pytest.raises(PreconditionFailed) as caught:
        await run_gather("patient-view", fhir_client, prefetch=full_prefetch(patient=None))
    assert "Patient resource" in caught.value.message
    assert "null" in caught.value.message
    assert fhir.calls.call_count == 0


async def test_patient_prefetched_as_bundle(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    got = await run_gather(
        "patient-view",
        fhir_client,
        prefetch=full_prefetch(patient=bundle(patient("other"), patient())),
    )
    assert got.patient == patient()
    assert got.skipped == {"wrong-patient": 1}


async def test_wrong_patient_resources_are_skipped(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    meds = bundle(
        med_request("mr-1"),
        med_request("mr-2", pid="someone-else"),
        med_request("mo-1", kind="MedicationOrder"),
        med_request("mo-2", pid="someone-else", kind="MedicationOrder"),
    )
    meds["entry"][0]["resource"]["subject"]["reference"] = f"{SERVER}/Patient/{PID}"
    got = await run_gather(
        "patient-view",
        fhir_client,
        prefetch=full_prefetch(
            medications=meds, conditions=bundle(chart("Condition", "c-9", pid="someone-else"))
        ),
    )
    assert [r["id"] for r in got.medication_requests] == ["mr-1", "mo-1"]
    assert got.conditions == []
    assert got.skipped == {"wrong-patient": 3}


async def test_other_types_duplicates_and_outcomes_are_counted(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    meds = bundle(
        med_request("mr-1"),
        med_request("mr-1"),
        {"resourceType": "Observation", "id": "o-1"},
        {"resourceType": "OperationOutcome", "issue": []},
    )
    meds["entry"].append({"fullUrl": "x"})  # an entry without a resource
    got = await run_gather("patient-view", fhir_client, prefetch=full_prefetch(medications=meds))
    assert [r["id"] for r in got.medication_requests] == ["mr-1"]
    assert got.skipped == {
        "duplicate-resource": 1,
        "unexpected-resource-type": 1,
        "bundle-operation-outcome": 1,
        "bundle-entry-without-resource": 1,
    }


async def test_resource_cap_drops_the_rest(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    request, context = hook_request(
        prefetch=full_prefetch(medications=bundle(*(med_request(f"mr-{i}") for i in range(5))))
    )
    got = await gather(
        request, context, service(), fhir_client, settings(max_resources_per_call=4), None
    )
    # Patient + 3 orders fill the cap of 4; the other orders and the condition are dropped.
    assert got.patient is not None
    assert len(got.medication_requests) == 3
    assert got.skipped == {"resource-cap-reached": 3}


async def test_order_sign_drafts_and_medications(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    drafts = [med_request("draft-1", med_ref="Medication/m-1"), medication("m-1")]
    got = await run_gather("order-sign", fhir_client, prefetch=full_prefetch(), drafts=drafts)
    assert got.draft_orders == drafts
    assert got.medications["Medication/m-1"] == medication("m-1")
    assert got.sources["draftOrders"] == "context"
    assert got.selections == frozenset()
    assert fhir.calls.call_count == 0


async def test_order_select_selections(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    got = await run_gather(
        "order-select",
        fhir_client,
        prefetch=full_prefetch(),
        drafts=[med_request("draft-1"), med_request("draft-2")],
        selections=["MedicationRequest/draft-2"],
    )
    assert got.selections == frozenset({"MedicationRequest/draft-2"})
    assert [d["id"] for d in got.draft_orders] == ["draft-1", "draft-2"]


async def test_draft_entries_without_resource_are_counted(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    request, context = hook_request(
        "order-sign", prefetch=full_prefetch(), drafts=[med_request("draft-1")]
    )
    context.draftOrders.entry.append({"fullUrl": "urn:uuid:1"})  # type: ignore[attr-defined]
    got = await gather(request, context, service("order-sign"), fhir_client, settings(), None)
    assert len(got.draft_orders) == 1
    assert got.skipped == {"draft-entry-without-resource": 1}


async def test_no_server_no_prefetch_is_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    prefetch = full_prefetch()
    del prefetch["medications"]
    with pytest.raises(PreconditionFailed) as caught:
        await run_gather("patient-view", fhir_client, server=None, token=None, prefetch=prefetch)
    assert caught.value.status_code == 412
    assert caught.value.message == (
        "Could not obtain data this service needs: "
        "MedicationRequest for the patient "
        "(no prefetch and no fhirServer)."
    )
    assert fhir.calls.call_count == 0


async def test_no_prefetch_at_all_names_every_required_key(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    with pytest.raises(PreconditionFailed) as caught:
        await run_gather("patient-view", fhir_client, server=None, token=None)
    for what in ("the Patient resource (needed for age)", "MedicationRequest for the patient"):
        assert what in caught.value.message
    for optional in ("Condition", "CarePlan", "ServiceRequest"):
        assert optional not in caught.value.message
