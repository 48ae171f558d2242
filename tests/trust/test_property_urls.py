"""Every URL field (fhirServer, Bundle next links, medicationReference, fullUrl) fuzzed with
control characters, dot segments and odd schemes through HTTP: never a 5xx, a 400 only for the
envelope's own fhirServer, and never a request (or the token) off the fhirServer base."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.fhir.urls import UrlError, normalize_url
from tests.conftest import load_fixture
from tests.trust.conftest import ALLOWED_FHIR
from tests.trust.fuzz_support import BASE, FUZZ, Service, control_text, fuzz_service

OVERLAP = load_fixture("hooks/patient-view-overlap.json")
FALLBACK = load_fixture("hooks/patient-view-fallback.json")
TOKEN = FALLBACK["fhirAuthorization"]["access_token"]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with fuzz_service(tmp_path_factory.mktemp("urls")) as running:
        yield running


URL_STARTS = [
    ALLOWED_FHIR,
    "HTTPS://FHIR.EXAMPLE.ORG:443/r4",
    "https://fhir.example.org",
    "http://fhir.example.org/r4",
    "https://evil.example.net/r4",
    "//evil.example.net",
    "https://fhir.example.org@evil.example.net/r4",
    "javascript:alert(1)//",
    "file:///etc/",
    "data:,",
    "ftp://fhir.example.org/r4",
    "urn:uuid:",
    "",
    "r4",
    "https://fhir.example.org:99999/r4",
    "https://[::1]/r4",
]
URL_PIECES = [
    "/",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    ".%2e",
    "%252e",
    ";",
    "\\",
    "%5c",
    "%2f",
    "%00",
    "\u0000",
    "\u007f",
    "\n",
    "\t",
    " ",
    "@",
    "?",
    "#",
    ":",
    "Patient",
    "MedicationRequest",
    "Medication",
    "m1",
    "outside",
    "page=2",
]
urls = (
    st.builds(
        lambda start, pieces: start + "".join(pieces),
        st.sampled_from(URL_STARTS),
        st.lists(st.sampled_from(URL_PIECES), max_size=10),
    )
    | control_text
)


@FUZZ
@given(server=urls)
def test_fhir_server_url(service: Service, server: str) -> None:
    body = copy.deepcopy(FALLBACK)
    body["fhirServer"] = server
    since = len(service.fhir.calls)
    response = service.post(body)
    assert response.status_code in (200, 400, 412), response.text[:2000]
    assert service.sent_off_base(since) == []
    try:
        usable = normalize_url(server).is_under(BASE)
    except UrlError as error:
        usable = False
        if "control character" in str(error):
            assert response.status_code == 400  # the envelope's own field: a bad request
    if response.status_code == 200:
        assert usable


@FUZZ
@given(link=urls, reference=urls, full_url=urls)
def test_next_link_reference_and_full_url(
    service: Service, link: str, reference: str, full_url: str
) -> None:
    body = copy.deepcopy(OVERLAP)
    body["fhirServer"] = ALLOWED_FHIR
    body["fhirAuthorization"] = copy.deepcopy(FALLBACK["fhirAuthorization"])
    meds = body["prefetch"]["medications"]
    meds["link"] = [{"relation": "next", "url": link}]
    order = copy.deepcopy(meds["entry"][-1])
    order["fullUrl"] = full_url
    order["resource"]["id"] = "by-reference"
    order["resource"].pop("medicationCodeableConcept", None)
    order["resource"]["medicationReference"] = {"reference": reference, "display": "lorazepam"}
    meds["entry"].append(order)
    since = len(service.fhir.calls)
    response = service.post(body)
    assert response.status_code in (200, 412), response.text[:2000]
    if response.status_code == 412:
        # Only a next link that is no URL at all, or one (inside the base) that the stand-in
        # answers with something other than a Bundle (its Medication route).
        assert "next link" in response.text or "page 2 of the search was" in response.text
    assert service.sent_off_base(since) == []
    assert all(
        call.request.headers.get("authorization") == f"Bearer {TOKEN}"
        for call in list(service.fhir.calls)[since:]
    )
