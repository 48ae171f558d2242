"""An unexpected failure in one concurrent FHIR fetch is reported once, and no task's exception
is left for asyncio to log as "Task exception was never retrieved"."""

from __future__ import annotations

import gc
from collections.abc import Callable

import httpx
import respx
from fastapi.testclient import TestClient

from tests.conftest import load_fixture
from tests.trust.conftest import ALLOWED_FHIR, PV, RecordList, attach


def test_every_fetch_failing_unexpectedly_leaves_no_unretrieved_task(
    make_client: Callable[..., TestClient], root_records: RecordList
) -> None:
    client = make_client(jwt_required=False, allowed_fhir_servers=[ALLOWED_FHIR])
    client_no_raise = TestClient(client.app, raise_server_exceptions=False)
    attach(root_records)

    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a transport bug")  # not an httpx error: nothing maps it to 412

    with respx.mock(assert_all_mocked=True) as router:
        router.route(host="fhir.example.org").mock(side_effect=explode)
        response = client_no_raise.post(PV, json=load_fixture("hooks/patient-view-fallback.json"))
        assert router.calls.call_count == 5  # all five prefetch keys were fetched at once
    gc.collect()  # asyncio reports an unretrieved task exception when the task is collected
    assert response.status_code == 500
    assert response.json()["issue"][0]["diagnostics"] == "Internal error."
    messages = [r.getMessage() for r in root_records.records]
    assert not any("never retrieved" in m for m in messages), messages
    assert messages.count("unexpected error") == 1
