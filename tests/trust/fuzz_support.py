"""The service under fuzz for the field and URL property tests: one app, a stand-in FHIR server
that records where every request went, and the log records of the last call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import respx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from app.fhir.urls import normalize_url
from tests.trust.conftest import (
    ALLOWED_FHIR,
    PV,
    RecordList,
    attach,
    serve_standin,
    started_client,
)
from tests.trust.test_property_based import check

FUZZ = settings(
    max_examples=int(os.environ.get("TRUST_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
BASE = normalize_url(ALLOWED_FHIR)

control_text = st.lists(
    st.characters(min_codepoint=0, max_codepoint=0x1F)
    | st.sampled_from(
        ["\u007f", "\u0085", "\u2028", "\ufeff", "\ud7ff", "/", "%", "1/0", "0/0", "e308"]
    ),
    max_size=12,
).map("".join)


@dataclass
class Service:
    client: TestClient
    fhir: respx.MockRouter
    records: RecordList

    def post(self, body: Any) -> httpx.Response:
        """POST a patient-view call: never a 5xx, never an unexpected error in the log."""
        self.records.records.clear()
        response = self.client.post(PV, json=body)
        check(response)
        messages = [r.getMessage() for r in self.records.records]
        assert not any(m == "unexpected error" or "never retrieved" in m for m in messages), (
            messages
        )
        return response

    def skipped(self) -> dict[str, int]:
        """What the last call counted as skipped (from its log, as operators see it)."""
        found: dict[str, int] = {}
        for record in self.records.records:
            found.update(getattr(record, "skipped", None) or {})
        return found

    def sent_off_base(self, since: int) -> list[str]:
        """Requests since call number `since` that went anywhere but the allowlisted base."""
        off = []
        for call in list(self.fhir.calls)[since:]:
            url = call.request.url
            port = url.port or {"http": 80, "https": 443}[url.scheme]
            path = url.raw_path.decode().split("?", 1)[0]
            if (
                (url.scheme, url.host, port) != (BASE.scheme, BASE.host, BASE.port)
                or not (path == BASE.path or path.startswith(BASE.path + "/"))
                or "/../" in path + "/"
                or "%2e" in path.lower()
            ):
                off.append(str(url))
        return off


@contextmanager
def fuzz_service(db_dir: Path) -> Iterator[Service]:
    """JWT off, ALLOWED_FHIR allowlisted and served; anything else is answered and recorded."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        serve_standin(router, ALLOWED_FHIR)
        router.get(url__regex=r"^https://fhir\.example\.org/r4/Medication/").respond(
            200, json={"resourceType": "Medication", "id": "m1"}
        )
        router.route().respond(200, json={"resourceType": "Bundle", "type": "searchset"})
        client = started_client(
            db_dir,
            jwt_required=False,
            allowed_fhir_servers=[ALLOWED_FHIR],
            fhir_timeout_seconds=1.0,
            call_time_budget_seconds=2.0,
        )
        records = RecordList()
        attach(records)
        try:
            yield Service(client, router, records)
        finally:
            client.__exit__(None, None, None)
