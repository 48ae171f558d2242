"""gather(): fetching what prefetch lacks, concurrently, with paging limits and clear 412s."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
import pytest
import respx
from gather_builders import (
    PID,
    SERVER,
    TOKEN,
    bundle,
    chart,
    full_prefetch,
    hook_request,
    med_request,
    patient,
    run_gather,
    search_url,
    service,
    settings,
)

from app.errors import PreconditionFailed
from app.fhir.gather import gather

KEYS = {
    "patient": f"{SERVER}/Patient/{PID}",
    "medications": search_url("MedicationRequest"),
    "conditions": search_url("Condition"),
    "carePlans": search_url("CarePlan"),
    "serviceRequests": search_url("ServiceRequest"),
}


def without(key: str) -> dict[str, object]:
    data = full_prefetch()
    del data[key]
    return data


async def expect_412(client: httpx.AsyncClient, **kwargs: object) -> str:
    with pytest.raises(PreconditionFailed) as caught:
        await run_gather("patient-view", client, **kwargs)  # type: ignore[arg-type]
    message = caught.value.message
    assert TOKEN not in message and PID not in message and SERVER not in message
    return message


async def test_absent_key_is_fetched_with_token_and_rendered_template(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(KEYS["medications"]).respond(json=bundle(med_request("mr-9")))
    got = await run_gather("patient-view", fhir_client, prefetch=without("medications"))
    assert route.call_count == 1
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Accept"] == "application/fhir+json"
    assert [r["id"] for r in got.medication_requests] == ["mr-9"]
    assert got.sources["medications"] == "fhir"
    assert got.sources["patient"] == "prefetch"


async def test_no_authorization_header_without_fhir_authorization(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(KEYS["conditions"]).respond(json=bundle(chart("Condition", "c-2")))
    got = await run_gather("patient-view", fhir_client, token=None, prefetch=without("conditions"))
    assert "Authorization" not in route.calls.last.request.headers
    assert [r["id"] for r in got.conditions] == ["c-2"]


@pytest.mark.parametrize(
    "bad",
    [
        {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]},
        "<html><body>502 Bad Gateway</body></html>",
        {"entry": []},
        [],
    ],
)
async def test_unusable_prefetch_is_fetched(
    bad: object, fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(KEYS["medications"]).respond(json=bundle(med_request("mr-3")))
    got = await run_gather("patient-view", fhir_client, prefetch=full_prefetch(medications=bad))
    assert route.call_count == 1
    assert [r["id"] for r in got.medication_requests] == ["mr-3"]
    assert got.sources["medications"] == "fhir"
    assert sum(got.skipped.values()) == 1


async def test_patient_read_is_fetched(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(KEYS["patient"]).respond(json=patient())
    got = await run_gather("patient-view", fhir_client, prefetch=without("patient"))
    assert route.called and got.patient == patient()


async def test_fetches_run_concurrently(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    answers = {
        "patient": patient(),
        "medications": bundle(med_request("mr-1")),
        "conditions": bundle(),
        "carePlans": bundle(),
        "serviceRequests": bundle(),
    }

    def slow(answer: dict[str, object]):
        async def respond(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.2)
            return httpx.Response(200, json=answer)

        return respond

    for key, url in KEYS.items():
        fhir.get(url).mock(side_effect=slow(answers[key]))
    started = time.perf_counter()
    got = await run_gather("patient-view", fhir_client)
    elapsed = time.perf_counter() - started
    assert fhir.calls.call_count == 5
    assert elapsed < 0.6, f"5 x 0.2 s fetches took {elapsed:.2f} s: not concurrent"
    assert got.patient == patient() and len(got.medication_requests) == 1


async def test_next_links_are_followed(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    page2, page3 = f"{SERVER}/?page=2", f"{SERVER}/?page=3"
    fhir.get(KEYS["medications"]).respond(json=bundle(med_request("a"), next_url=page2))
    fhir.get(page2).respond(json=bundle(med_request("b"), next_url=page3))
    third = fhir.get(page3).respond(json=bundle(med_request("c")))
    got = await run_gather("patient-view", fhir_client, prefetch=without("medications"))
    assert [r["id"] for r in got.medication_requests] == ["a", "b", "c"]
    assert third.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert got.skipped == {}


async def test_prefetched_bundle_next_link_is_followed(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    page2 = f"{SERVER}/MedicationRequest?patient={PID}&_page=2"
    route = fhir.get(page2).respond(json=bundle(med_request("b")))
    got = await run_gather(
        "patient-view",
        fhir_client,
        prefetch=full_prefetch(medications=bundle(med_request("a"), next_url=page2)),
    )
    assert route.call_count == 1
    assert [r["id"] for r in got.medication_requests] == ["a", "b"]
    assert got.sources["medications"] == "prefetch"


async def test_prefetched_next_link_without_server_is_noted(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    got = await run_gather(
        "patient-view",
        fhir_client,
        server=None,
        token=None,
        prefetch=full_prefetch(medications=bundle(med_request("a"), next_url=f"{SERVER}/?page=2")),
    )
    assert fhir.calls.call_count == 0
    assert [r["id"] for r in got.medication_requests] == ["a"]
    assert got.skipped == {"paging-no-usable-fhir-server": 1}


async def test_page_cap_is_respected(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        following = f"{SERVER}/MedicationRequest?page={page + 1}"
        return httpx.Response(200, json=bundle(med_request(f"p{page}"), next_url=following))

    route = fhir.get(url__startswith=f"{SERVER}/MedicationRequest").mock(side_effect=endless)
    got = await run_gather(
        "patient-view",
        fhir_client,
        prefetch=without("medications"),
        config=settings(fhir_max_pages=3),
    )
    assert route.call_count == 3
    assert [r["id"] for r in got.medication_requests] == ["p1", "p2", "p3"]
    assert got.skipped == {"paging-page-cap-reached": 1}


@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://evil.example/fhir/MedicationRequest?page=2",
        "http://ehr.example/fhir/MedicationRequest?page=2",  # scheme downgrade
        "https://ehr.example:8443/fhir/MedicationRequest?page=2",  # other port
        "https://ehr.example/fhirx/MedicationRequest?page=2",  # not under the base path
        "https://ehr.example@evil.example/fhir/MedicationRequest?page=2",
    ],
)
async def test_off_server_next_link_is_not_followed(
    elsewhere: str, fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    trap = fhir.get(url__regex=r".*page=2.*").respond(json=bundle(med_request("stolen")))
    fhir.get(KEYS["medications"]).respond(json=bundle(med_request("a"), next_url=elsewhere))
    got = await run_gather("patient-view", fhir_client, prefetch=without("medications"))
    assert not trap.called
    assert [r["id"] for r in got.medication_requests] == ["a"]
    assert got.skipped == {"paging-next-link-off-server": 1}


async def test_next_link_loop_stops(fhir_client: httpx.AsyncClient, fhir: respx.MockRouter) -> None:
    page2 = f"{SERVER}/MedicationRequest?page=2"
    first = fhir.get(KEYS["medications"]).respond(json=bundle(med_request("a"), next_url=page2))
    second = fhir.get(page2).respond(json=bundle(med_request("b"), next_url=KEYS["medications"]))
    got = await run_gather("patient-view", fhir_client, prefetch=without("medications"))
    assert first.call_count == 1 and second.call_count == 1
    assert [r["id"] for r in got.medication_requests] == ["a", "b"]
    assert got.skipped == {"paging-next-link-loop": 1}


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(401), "FHIR server answered 401"),
        (httpx.Response(403), "FHIR server answered 403"),
        (httpx.Response(404), "FHIR server answered 404"),
        (httpx.Response(500, text="boom"), "FHIR server answered 500"),
        (
            httpx.Response(302, headers={"Location": "https://evil.example/steal"}),
            "FHIR server answered 302 (redirects are not followed)",
        ),
        (httpx.Response(200, text="<html>login</html>"), "FHIR server answered with invalid JSON"),
        (
            httpx.Response(200, json=patient()),
            "FHIR server answered the search with a Patient, not a Bundle",
        ),
        (
            httpx.Response(200, json={"issue": []}),
            "FHIR server answered the search with something that is not a FHIR resource, not a "
            "Bundle",
        ),
    ],
)
async def test_fetch_failures_are_412_with_reason(
    response: httpx.Response, reason: str, fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(KEYS["medications"]).mock(return_value=response)
    trap = fhir.get("https://evil.example/steal")
    message = await expect_412(fhir_client, prefetch=without("medications"))
    assert message == (
        f"Could not obtain data this service needs: MedicationRequest for the patient ({reason})."
    )
    assert not trap.called


async def test_read_answered_with_operation_outcome_is_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(KEYS["patient"]).respond(json={"resourceType": "OperationOutcome", "issue": []})
    message = await expect_412(fhir_client, prefetch=without("patient"))
    assert "the Patient resource (needed for age)" in message
    assert "answered the read with an OperationOutcome" in message


async def test_failing_next_page_is_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(KEYS["medications"]).respond(
        json=bundle(med_request("a"), next_url=f"{SERVER}/MedicationRequest?page=2")
    )
    fhir.get(f"{SERVER}/MedicationRequest?page=2").respond(503)
    message = await expect_412(fhir_client, prefetch=without("medications"))
    assert "MedicationRequest for the patient (FHIR server answered 503)" in message


async def test_timeout_is_412(fhir_client: httpx.AsyncClient, fhir: respx.MockRouter) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return httpx.Response(200, json=bundle())

    fhir.get(KEYS["medications"]).mock(side_effect=hang)
    started = time.perf_counter()
    message = await expect_412(
        fhir_client, prefetch=without("medications"), config=settings(fhir_timeout_seconds=0.1)
    )
    assert time.perf_counter() - started < 1
    assert "MedicationRequest for the patient (timed out after 0.1 s)" in message


async def test_transport_errors_are_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(KEYS["medications"]).mock(side_effect=httpx.ConnectError("refused"))
    fhir.get(KEYS["patient"]).mock(side_effect=httpx.ReadTimeout("slow"))
    fhir.get(KEYS["carePlans"]).mock(side_effect=httpx.ReadTimeout("slow"))
    prefetch = without("medications")
    del prefetch["patient"], prefetch["carePlans"]
    message = await expect_412(fhir_client, prefetch=prefetch)
    assert "MedicationRequest for the patient (FHIR server unreachable (ConnectError))" in message
    assert "the Patient resource (needed for age) (timed out after 5 s)" in message
    assert "CarePlan" not in message  # optional data is not a precondition


async def test_optional_keys_that_fail_are_recorded_missing(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(KEYS["conditions"]).mock(side_effect=httpx.ConnectError("refused"))
    fhir.get(KEYS["carePlans"]).respond(500)
    fhir.get(KEYS["serviceRequests"]).respond(json=bundle(chart("ServiceRequest", "sr-1")))
    prefetch = full_prefetch()
    del prefetch["conditions"], prefetch["carePlans"], prefetch["serviceRequests"]
    got = await run_gather("patient-view", fhir_client, prefetch=prefetch)
    assert got.missing == {"conditions": "Condition", "carePlans": "CarePlan"}
    assert got.sources["conditions"] == got.sources["carePlans"] == "unavailable"
    assert got.sources["serviceRequests"] == "fhir"
    assert [r["id"] for r in got.service_requests] == ["sr-1"]
    assert got.conditions == [] and got.care_plans == []


async def test_call_budget_bounds_the_whole_call(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(2)
        return httpx.Response(200, json=bundle())

    fhir.get(KEYS["medications"]).mock(side_effect=hang)
    fhir.get(KEYS["serviceRequests"]).mock(side_effect=hang)
    prefetch = without("serviceRequests")
    del prefetch["medications"]
    started = time.perf_counter()
    message = await expect_412(
        fhir_client, prefetch=prefetch, config=settings(call_time_budget_seconds=0.2)
    )
    assert time.perf_counter() - started < 1
    assert (
        "MedicationRequest for the patient (did not finish within the 0.2 s call budget)" in message
    )
    assert "ServiceRequest" not in message


async def test_oversized_answer_is_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(KEYS["medications"]).respond(json=bundle(*(med_request(f"mr{i}") for i in range(50))))
    message = await expect_412(
        fhir_client, prefetch=without("medications"), config=settings(max_body_bytes=1000)
    )
    assert "MedicationRequest for the patient (FHIR answer larger than 1000 bytes)" in message


async def test_encounter_token_missing_is_412(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    request, context = hook_request(prefetch=full_prefetch())
    svc = service()
    svc = replace(
        svc,
        prefetch={**svc.prefetch, "encounter": "Encounter/{{context.encounterId}}"},
        required=svc.required | {"Encounter"},
    )
    with pytest.raises(PreconditionFailed) as caught:
        await gather(request, context, svc, fhir_client, settings(), None)
    assert "the Encounter resource" in caught.value.message
    assert "{{context.encounterId}}" in caught.value.message
    assert fhir.calls.call_count == 0
    # The same key, optional: recorded as missing, nothing fetched, no 412.
    got = await gather(
        request, context, replace(svc, required=service().required), fhir_client, settings(), None
    )
    assert got.missing == {"encounter": "Encounter"}
    assert fhir.calls.call_count == 0


# --- fhirServer allowlist ---


async def test_token_never_sent_to_server_off_the_allowlist(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    trap = fhir.route(host="ehr.example")
    message = await expect_412(
        fhir_client, prefetch=without("medications"), allowed=["https://trusted.example/fhir"]
    )
    assert not trap.called
    assert (
        "MedicationRequest for the patient (no prefetch, and the fhirServer is not on "
        "this service's allowlist)" in message
    )


async def test_off_allowlist_server_with_full_prefetch_is_fine(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    trap = fhir.route(host="ehr.example")
    got = await run_gather(
        "patient-view",
        fhir_client,
        prefetch=full_prefetch(medications=bundle(med_request("a"), next_url=f"{SERVER}/?page=2")),
        allowed=["https://trusted.example/fhir"],
    )
    assert not trap.called
    assert got.skipped == {"paging-no-usable-fhir-server": 1}


@pytest.mark.parametrize(
    "allowed",
    [
        [SERVER],
        [SERVER + "/"],
        ["https://EHR.example:443/"],
        ["https://other.example", "https://ehr.example/fhir"],
    ],
)
async def test_allowlisted_server_is_used(
    allowed: list[str], fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(KEYS["medications"]).respond(json=bundle())
    await run_gather("patient-view", fhir_client, prefetch=without("medications"), allowed=allowed)
    assert route.called


@pytest.mark.parametrize(
    "server",
    [
        "https://ehr.example/fhirevil",
        "http://ehr.example/fhir",
        "https://ehr.example.evil.example/fhir",
    ],
)
async def test_lookalike_servers_are_refused(
    server: str, fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    trap = fhir.route()
    message = await expect_412(
        fhir_client, server=server, prefetch=without("medications"), allowed=[SERVER]
    )
    assert not trap.called
    assert "allowlist" in message
