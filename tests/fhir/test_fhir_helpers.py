"""Template rendering, the same-server check and the shared client's safety settings."""

from __future__ import annotations

import httpx
import pytest
import respx
from gather_builders import settings

from app.fhir.client import FetchFailure, FhirFetcher, make_fhir_client
from app.fhir.servers import is_allowed, parse_base
from app.fhir.templates import TemplateError, describe, render, token_values
from app.models.hooks import PatientViewContext


def values(user: str = "Practitioner/dr-1", **extra: str) -> dict[str, str]:
    return token_values(PatientViewContext(userId=user, patientId="p1", **extra))


def test_render_context_and_user_tokens() -> None:
    tokens = values(encounterId="e 1")
    assert render("Patient/{{context.patientId}}", tokens) == "Patient/p1"
    assert render("Encounter/{{context.encounterId}}", tokens) == "Encounter/e%201"
    assert render("{{context.userId}}", tokens) == "Practitioner/dr-1"
    assert (
        render("PractitionerRole?practitioner={{userPractitionerId}}", tokens)
        == "PractitionerRole?practitioner=dr-1"
    )
    assert values("PractitionerRole/r9")["userPractitionerRoleId"] == "r9"
    assert "userPractitionerId" not in values("PractitionerRole/r9")


def test_render_refuses_missing_tokens_and_escapes() -> None:
    with pytest.raises(TemplateError, match="context.encounterId"):
        render("Encounter/{{context.encounterId}}", values())
    # Values are percent-encoded: an id cannot add parameters or path segments.
    assert (
        render("Condition?patient={{context.patientId}}", {"context.patientId": "1&_include=*"})
        == "Condition?patient=1%26_include%3D%2A"
    )
    assert (
        render("Patient/{{context.patientId}}", {"context.patientId": "../x"}) == "Patient/..%2Fx"
    )
    with pytest.raises(TemplateError):
        render("{{context.userId}}", {"context.userId": "../../admin"})


def test_describe_names_data_without_ids() -> None:
    assert describe("Patient/{{context.patientId}}") == "the Patient resource (needed for age)"
    assert (
        describe("MedicationRequest?patient={{context.patientId}}")
        == "MedicationRequest for the patient"
    )


@pytest.mark.parametrize(
    ("url", "covered"),
    [
        ("https://ehr.example/fhir", True),
        ("https://ehr.example/fhir/", True),
        ("https://EHR.example:443/fhir/Patient/1", True),
        ("https://ehr.example/fhir?page=2", True),
        ("https://ehr.example/fhirx/Patient/1", False),
        ("https://ehr.example/", False),
        ("http://ehr.example/fhir/Patient/1", False),
        ("https://ehr.example:444/fhir/Patient/1", False),
        ("https://ehr.example@evil.example/fhir/Patient/1", False),
        ("ftp://ehr.example/fhir", False),
        ("/fhir/Patient/1", False),
    ],
)
def test_base_covers(url: str, covered: bool) -> None:
    base = parse_base("https://ehr.example/fhir/")
    assert base is not None
    assert base.covers(url) is covered


def test_is_allowed() -> None:
    assert is_allowed("https://ehr.example/fhir", None)
    assert not is_allowed("not a url", None)
    assert not is_allowed("https://ehr.example/fhir", [])
    assert is_allowed("https://ehr.example/fhir/tenant-1", ["https://ehr.example/fhir"])
    assert not is_allowed("https://ehr.example/fhir", ["https://ehr.example/fhir/tenant-1"])


async def test_shared_client_settings() -> None:
    async with make_fhir_client(settings(fhir_timeout_seconds=2.5)) as client:
        assert client.follow_redirects is False
        assert client.timeout.read == 2.5


async def test_shared_client_keeps_no_cookies() -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        first = router.get("https://a.example/fhir/Patient/1").respond(
            json={"resourceType": "Patient"}, headers={"Set-Cookie": "session=abc; Path=/"}
        )
        second = router.get("https://a.example/fhir/Patient/2").respond(
            json={"resourceType": "Patient"}
        )
        async with make_fhir_client(settings()) as client:
            fetcher = FhirFetcher(client, None, timeout_seconds=1, max_bytes=10_000)
            await fetcher.get_json("https://a.example/fhir/Patient/1")
            await fetcher.get_json("https://a.example/fhir/Patient/2")
        assert first.called
        assert "cookie" not in second.calls.last.request.headers


async def test_redirect_is_refused_even_by_a_redirect_following_client() -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.get("https://a.example/fhir/Patient/1").respond(
            307, headers={"Location": "https://evil.example/x"}
        )
        trap = router.get("https://evil.example/x").respond(json={"resourceType": "Patient"})
        async with httpx.AsyncClient(follow_redirects=True) as client:
            fetcher = FhirFetcher(client, "tok", timeout_seconds=1, max_bytes=10_000)
            with pytest.raises(FetchFailure, match="307"):
                await fetcher.get_json("https://a.example/fhir/Patient/1")
        assert not trap.called


@pytest.mark.parametrize(
    "server",
    [
        "https://fhir.example.org/r4/../admin",  # dot segments climb out of the listed base
        "https://fhir.example.org/r4/%2e%2e/admin",
        "https://user:secret@fhir.example.org/r4",  # userinfo
        "https://fhir.example.org/r4?_format=json",  # a base carries no query
        "https://fhir.example.org/r4#x",
    ],
)
@pytest.mark.parametrize("allowed", [["https://fhir.example.org/r4"], None])
def test_odd_server_bases_are_never_allowed(server: str, allowed: list[str] | None) -> None:
    assert not is_allowed(server, allowed)
