"""gather(): resolving medicationReference, by bundle, by read, or gracefully not at all."""

from __future__ import annotations

import httpx
import respx
from gather_builders import (
    SERVER,
    TOKEN,
    bundle,
    full_prefetch,
    med_request,
    medication,
    run_gather,
)


async def test_reference_resolved_by_read_once(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    route = fhir.get(f"{SERVER}/Medication/m-1").respond(json=medication("m-1"))
    got = await run_gather(
        "order-sign",
        fhir_client,
        prefetch=full_prefetch(medications=bundle(med_request("mr-1", med_ref="Medication/m-1"))),
        drafts=[med_request("draft-1", med_ref="Medication/m-1")],
    )
    assert route.call_count == 1  # chart and draft share one read
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert got.medications["Medication/m-1"] == medication("m-1")
    assert got.skipped == {}


async def test_reads_run_for_each_distinct_medication(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    one = fhir.get(f"{SERVER}/Medication/m-1").respond(json=medication("m-1"))
    two = fhir.get(f"{SERVER}/Medication/m-2").respond(json=medication("m-2"))
    absolute = f"{SERVER}/Medication/m-2"
    got = await run_gather(
        "order-select",
        fhir_client,
        prefetch=full_prefetch(),
        drafts=[
            med_request("draft-1", med_ref="Medication/m-1"),
            med_request("draft-2", med_ref=absolute),
        ],
    )
    assert one.call_count == 1 and two.call_count == 1
    assert got.medications[absolute] == medication("m-2")
    assert got.medications["Medication/m-2"] == medication("m-2")


async def test_reference_found_in_the_bundle_needs_no_read(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    meds = bundle(
        med_request("mr-1", med_ref=f"{SERVER}/Medication/m-1"), medication("m-1"), full_urls=True
    )
    got = await run_gather("patient-view", fhir_client, prefetch=full_prefetch(medications=meds))
    assert fhir.calls.call_count == 0
    assert got.medications[f"{SERVER}/Medication/m-1"] == medication("m-1")
    assert got.medications["Medication/m-1"] == medication("m-1")
    assert [r["id"] for r in got.medication_requests] == ["mr-1"]


async def test_contained_reference_is_left_in_place(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    order = med_request("mr-1", med_ref="#med1")
    order["contained"] = [medication("med1")]
    got = await run_gather(
        "patient-view", fhir_client, prefetch=full_prefetch(medications=bundle(order))
    )
    assert fhir.calls.call_count == 0
    assert got.medications == {}
    assert got.skipped == {}


async def test_failed_read_leaves_it_unresolved(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    fhir.get(f"{SERVER}/Medication/m-1").respond(404)
    fhir.get(f"{SERVER}/Medication/m-2").respond(json={"resourceType": "Patient", "id": "x"})
    got = await run_gather(
        "order-sign",
        fhir_client,
        prefetch=full_prefetch(),
        drafts=[
            med_request("d-1", med_ref="Medication/m-1"),
            med_request("d-2", med_ref="Medication/m-2"),
        ],
    )
    assert got.medications == {}
    assert got.skipped == {"medication-unresolved": 2}
    assert len(got.draft_orders) == 2


async def test_unresolvable_references_are_counted(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    trap = fhir.route()
    got = await run_gather(
        "order-sign",
        fhir_client,
        prefetch=full_prefetch(),
        drafts=[
            med_request("d-1", med_ref="https://evil.example/Medication/m"),
            med_request("d-2", med_ref="urn:uuid:1234"),
        ],
    )
    assert not trap.called
    assert got.skipped == {
        "medication-reference-off-server": 1,
        "medication-reference-unreadable": 1,
    }


async def test_no_server_leaves_reference_unresolved(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    got = await run_gather(
        "order-sign",
        fhir_client,
        server=None,
        token=None,
        prefetch=full_prefetch(),
        drafts=[med_request("d-1", med_ref="Medication/m-1")],
    )
    assert fhir.calls.call_count == 0
    assert got.skipped == {"medication-unresolved-no-fhir-server": 1}


async def test_off_allowlist_server_is_not_asked_for_medications(
    fhir_client: httpx.AsyncClient, fhir: respx.MockRouter
) -> None:
    trap = fhir.route()
    got = await run_gather(
        "order-sign",
        fhir_client,
        prefetch=full_prefetch(),
        drafts=[med_request("d-1", med_ref="Medication/m-1")],
        allowed=["https://trusted.example/fhir"],
    )
    assert not trap.called
    assert got.skipped == {"medication-unresolved-no-fhir-server": 1}
