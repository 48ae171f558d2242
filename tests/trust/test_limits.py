"""Our own limits: body size, resource count, FHIR paging and time budget, bad FHIR answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient

from tests.conftest import load_fixture
from tests.trust.conftest import ALLOWED_FHIR, PV, serve_standin, standin_files

FALLBACK = "hooks/patient-view-fallback.json"
OVERLAP = "hooks/patient-view-overlap.json"
MR_ROUTE = f"{ALLOWED_FHIR}/MedicationRequest"


def _fallback() -> dict[str, Any]:
    return load_fixture(FALLBACK)


def _diagnostics(response: httpx.Response) -> str:
    return " ".join(issue["diagnostics"] for issue in response.json()["issue"])


def test_declared_oversized_body_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=2000)
    body = load_fixture(OVERLAP)  # tens of kilobytes
    response = client.post(PV, json=body)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "2000 bytes" in _diagnostics(response)


def test_streamed_oversized_body_is_413(make_client: Callable[..., TestClient]) -> None:
    # No Content-Length (chunked): the cap must hold while reading, not only on the header.
    client = make_client(max_body_bytes=2000)

    def chunks() -> Iterator[bytes]:
        yield b'{"hook": "patient-view", "padding": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    response = client.post(PV, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_feedback_body_cap(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=500)
    items = [
        {
            "card": f"c{i}",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-23T10:00:00Z",
            "overrideReason": {"userComment": "x" * 50},
        }
        for i in range(20)
    ]
    response = client.post(f"{PV}/feedback", json={"feedback": items})
    assert response.status_code == 413


def test_too_many_prefetched_resources_is_413(make_client: Callable[..., TestClient]) -> None:
    body = load_fixture(OVERLAP)
    assert make_client().post(PV, json=body).status_code == 200  # fine under the default
    client = make_client(max_resources_per_call=3)
    response = client.post(PV, json=body)
    assert response.status_code == 413, response.text
    text = _diagnostics(response)
    assert "resources" in text and "limit is 3" in text


def _endless_pages(request: httpx.Request) -> httpx.Response:
    """Every page links to a fresh next page: only our page cap ends it."""
    page = int(request.url.params.get("page", "1"))
    bundle = (
        dict(standin_files()["MedicationRequest"])
        if page == 1
        else {"resourceType": "Bundle", "type": "searchset", "entry": []}
    )
    bundle["link"] = [{"relation": "next", "url": f"{MR_ROUTE}?patient=pt-overlap&page={page + 1}"}]
    return httpx.Response(200, json=bundle)


def _same_page(request: httpx.Request) -> httpx.Response:
    """A next link that points back at the page itself."""
    bundle = dict(standin_files()["MedicationRequest"])
    bundle["link"] = [{"relation": "next", "url": str(request.url)}]
    return httpx.Response(200, json=bundle)


async def _slow_pages(request: httpx.Request) -> httpx.Response:
    """Endless pages, each a little slow: only the call budget ends it."""
    await asyncio.sleep(0.1)
    return _endless_pages(request)


async def _hangs_on_page_3(request: httpx.Request) -> httpx.Response:
    if request.url.params.get("page") == "3":
        await asyncio.sleep(60)
    return _endless_pages(request)


@pytest.mark.parametrize(
    ("side_effect", "max_pages"),
    [(_endless_pages, 4), (_same_page, 4), (_slow_pages, 1000), (_hangs_on_page_3, 1000)],
)
def test_looping_next_links_end_within_budget(
    make_client: Callable[..., TestClient], side_effect: Any, max_pages: int
) -> None:
    budget = 1.5
    client = make_client(
        fhir_max_pages=max_pages, call_time_budget_seconds=budget, fhir_timeout_seconds=1.0
    )
    with respx.mock(assert_all_called=False) as router:
        routes = serve_standin(router, ALLOWED_FHIR, MedicationRequest=side_effect)
        started = time.monotonic()
        response = client.post(PV, json=_fallback())
        elapsed = time.monotonic() - started
    assert elapsed < budget + 1.5, elapsed
    assert response.status_code in (200, 412), response.text
    if response.status_code == 412:
        assert "MedicationRequest" in _diagnostics(response)
    assert 1 <= routes["MedicationRequest"].call_count <= max_pages


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.Response(500, json={"resourceType": "OperationOutcome"}), "500"),
        (
            httpx.Response(200, content=b"{not json", headers={"Content-Type": "application/json"}),
            "invalid JSON",
        ),
        (httpx.Response(200, json={"resourceType": "Patient", "id": "pt-overlap"}), "Patient"),
        (httpx.Response(200, json=["not", "a", "resource"]), "not a FHIR resource"),
        (httpx.ConnectError("refused"), "unreachable"),
        (httpx.Response(302, headers={"Location": "https://evil.example.net/x"}), "302"),
    ],
)
def test_bad_fhir_answer_is_412_naming_the_data(
    make_client: Callable[..., TestClient], answer: Any, why: str
) -> None:
    client = make_client()
    with respx.mock(assert_all_called=False) as router:
        evil = router.route(host="evil.example.net").respond(200, json={})
        routes = serve_standin(router, ALLOWED_FHIR, MedicationRequest=answer)
        response = client.post(PV, json=_fallback())
    assert response.status_code == 412, response.text
    text = _diagnostics(response)
    assert "MedicationRequest" in text and why in text, text
    # Only the failing data is blamed; the rest was fetched fine.
    assert "Condition" not in text and "CarePlan" not in text
    assert routes["MedicationRequest"].called and not evil.called
    assert "pt-overlap" not in response.text and "fixture-opaque" not in response.text


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (httpx.ReadTimeout("slow"), "timed out"),
        (httpx.Response(500, json={"resourceType": "OperationOutcome"}), "500"),
        (httpx.Response(302, headers={"Location": "https://evil.example.net/x"}), "302"),
    ],
)
def test_bad_optional_answer_still_answers(
    make_client: Callable[..., TestClient], answer: Any, why: str
) -> None:
    """Conditions are optional: the overlap card comes back and names what it could not check."""
    client = make_client()
    with respx.mock(assert_all_called=False) as router:
        evil = router.route(host="evil.example.net").respond(200, json={})
        serve_standin(router, ALLOWED_FHIR, Condition=answer)
        response = client.post(PV, json=_fallback())
    assert response.status_code == 200, response.text
    assert not evil.called
    overlap = [
        c
        for c in response.json()["cards"]
        if c["source"]["topic"]["code"] == "opioid-benzodiazepine-overlap"
    ]
    assert overlap and "Not checked (no Conditions sent)" in overlap[0]["detail"]
    assert why not in response.text  # the fetch failure's reason goes to the log only


def test_bad_second_page_is_412(make_client: Callable[..., TestClient]) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json={"resourceType": "Patient", "id": "pt-overlap"})
        bundle = dict(standin_files()["MedicationRequest"])
        bundle["link"] = [{"relation": "next", "url": f"{MR_ROUTE}?patient=pt-overlap&page=2"}]
        return httpx.Response(200, json=bundle)

    client = make_client()
    with respx.mock(assert_all_called=False) as router:
        serve_standin(router, ALLOWED_FHIR, MedicationRequest=pages)
        response = client.post(PV, json=_fallback())
    assert response.status_code == 412, response.text
    assert "MedicationRequest" in _diagnostics(response)
    assert "page 2" in _diagnostics(response)


def test_huge_fhir_answer_is_cut_off(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=20_000)
    bundle = dict(standin_files()["MedicationRequest"])
    bundle["padding"] = "x" * 50_000
    with respx.mock(assert_all_called=False) as router:
        serve_standin(
            router, ALLOWED_FHIR, MedicationRequest=lambda _: httpx.Response(200, json=bundle)
        )
        response = client.post(PV, json=_fallback())
    assert response.status_code == 412, response.text
    assert "MedicationRequest" in _diagnostics(response) and "larger" in _diagnostics(response)
