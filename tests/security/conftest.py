"""Fixtures for JWT verification tests: a settable clock and issuers of each key-source kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from joserfc.jwk import Key

from tests.security.jwt_factory import (
    TestIssuer,
    generate_key,
    make_file_issuer,
    make_jku_issuer,
    make_url_issuer,
)
from tests.security.support import JKU_ISS, JKU_OK, URL_ISS, URL_JWKS, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def rsa_key() -> Key:
    # RSA generation is slow; one key serves the whole session.
    return generate_key("RS384", kid="rsa-1")


@pytest.fixture
def file_issuer(tmp_path: Path) -> TestIssuer:
    return make_file_issuer(
        tmp_path, "https://ehr.example.org", fhir_servers=["https://fhir.example.org/r4"]
    )


@pytest.fixture
def url_issuer(rsa_key: Key) -> TestIssuer:
    return make_url_issuer(
        URL_ISS,
        URL_JWKS,
        key=rsa_key,
        fhir_servers=["https://fhir-ehr.cerner.example.com/r4/tenant-1/"],
    )


@pytest.fixture
def jku_issuer() -> TestIssuer:
    return make_jku_issuer(JKU_ISS, [JKU_OK])
