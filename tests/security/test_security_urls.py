"""FHIR server allowlist per issuer, and the expected JWT audience."""

from __future__ import annotations

import pytest

from app.security.verify import CdsClient, JwtVerifier, expected_audience, fhir_url_allowed
from tests.security.support import settings_for

BASE = "https://fhir.example.org/r4"
CLIENT = CdsClient(
    iss="https://ehr.example.org",
    tenant=None,
    jti="j",
    fhir_servers=(BASE, "http://localhost:8080/fhir/"),
)


@pytest.mark.parametrize(
    ("fhir_server", "allowed"),
    [
        (BASE, True),
        (BASE + "/", True),
        (BASE + "/tenant-1", True),
        (BASE + "/tenant-1/", True),
        ("HTTPS://FHIR.EXAMPLE.ORG/r4", True),
        ("https://fhir.example.org:443/r4", True),
        ("http://localhost:8080/fhir", True),
        ("http://localhost:8080/fhir/abc", True),
        ("http://fhir.example.org/r4", False),  # scheme
        ("https://fhir.example.org:8443/r4", False),  # port
        ("https://other.example.org/r4", False),  # host
        ("https://fhir.example.org.evil.com/r4", False),  # prefix trick on the host
        ("https://fhir.example.org.evil.com", False),
        ("https://fhir.example.org/r4evil", False),  # prefix trick on the path
        ("https://fhir.example.org/r", False),
        ("https://fhir.example.org/", False),  # parent of the base
        ("https://fhir.example.org/r4/../admin", False),  # dot segments
        ("https://fhir.example.org/r4/%2e%2e/admin", False),
        ("https://user@fhir.example.org/r4", False),  # userinfo
        ("https://fhir.example.org@evil.com/r4", False),
        ("https://fhir.example.org/r4?x=1", False),
        ("https://fhir.example.org/r4#f", False),
        ("ftp://fhir.example.org/r4", False),
        ("https://fhir.example.org:99999/r4", False),  # invalid port
        ("http://localhost:8081/fhir", False),
        ("http://localhost/fhir", False),
        ("", False),
        ("fhir.example.org/r4", False),
    ],
)
def test_fhir_server_allowed(fhir_server: str, allowed: bool) -> None:
    verifier = JwtVerifier(settings_for())
    assert verifier.fhir_server_allowed(CLIENT, fhir_server) is allowed


def test_no_configured_servers_allows_nothing() -> None:
    assert not fhir_url_allowed(BASE, [])
    client = CdsClient(iss="x", tenant=None, jti="j", fhir_servers=())
    assert not JwtVerifier(settings_for()).fhir_server_allowed(client, BASE)


def test_root_base_allows_the_whole_origin() -> None:
    assert fhir_url_allowed("https://fhir.example.org/anything", ["https://fhir.example.org/"])
    assert not fhir_url_allowed("https://fhir.example.org.evil.com/", ["https://fhir.example.org"])


@pytest.mark.parametrize(
    ("public_base_url", "request_url", "path", "expected"),
    [
        (
            None,
            "https://cds.example.org/cds-services/x?y=1",
            "/cds-services/x",
            "https://cds.example.org/cds-services/x",
        ),
        (
            None,
            "http://localhost:8000/cds-services",
            "/cds-services",
            "http://localhost:8000/cds-services",
        ),
        (
            None,
            "https://u:p@cds.example.org/cds-services",
            "/cds-services",
            "https://cds.example.org/cds-services",
        ),
        (
            "https://public.example.org/benzo/",
            "http://10.0.0.5:8000/cds-services/x",
            "/cds-services/x",
            "https://public.example.org/benzo/cds-services/x",
        ),
        (
            "https://public.example.org",
            "http://10.0.0.5:8000/cds-services",
            "cds-services",
            "https://public.example.org/cds-services",
        ),
    ],
)
def test_expected_audience(
    public_base_url: str | None, request_url: str, path: str, expected: str
) -> None:
    settings = settings_for(public_base_url=public_base_url)
    assert expected_audience(settings, request_url, path) == expected
