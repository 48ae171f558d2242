"""Keys that work without the internet: a CDS Hooks Sandbox-shaped token (ES384, its kid, a jku
at sandbox.cds-hooks.org) is accepted through HTTP with a jwks_file, and nothing is contacted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from joserfc.jwk import Key

from app.config import TrustedIssuer
from tests.conftest import load_fixture
from tests.security.jwt_factory import generate_key, make_token, public_jwks
from tests.trust.conftest import PV, RecordList, attach, feedback_body

# What the Sandbox puts in every token (cds-hooks/sandbox src/retrieve-data-helpers/
# jwt-generator.js); the key itself is generated here, never theirs.
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
BASE = "http://testserver"


@pytest.fixture(scope="module")
def sandbox_key() -> Key:
    return generate_key("ES384", kid=SANDBOX_KID)


@pytest.fixture
def network() -> Iterator[respx.MockRouter]:
    """Every outgoing request fails the test; calls are recorded to prove none was made."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.route().mock(side_effect=httpx.ConnectError("no network in this test"))
        yield router


def _trusted(tmp_path: Path, key: Key, **extra: Any) -> TrustedIssuer:
    path = tmp_path / "sandbox-jwks.json"
    path.write_text(json.dumps(public_jwks(key)), encoding="utf-8")
    # Loaded the way an operator writes it: a trusted-issuers JSON file.
    entry = {
        "iss": SANDBOX_ISS,
        "jwks_file": str(path),
        "fhir_servers": ["https://launch.smarthealthit.org/v/r4/fhir"],
        **extra,
    }
    return TrustedIssuer.model_validate(entry)


def sandbox_token(key: Key, aud: str, kid: str = SANDBOX_KID) -> str:
    """Header and claims exactly as the Sandbox sends them: exp = iat + 300, a uuid jti."""
    now = int(time.time())
    return make_token(
        key,
        alg="ES384",
        iss=SANDBOX_ISS,
        aud=aud,
        kid=kid,
        jku=SANDBOX_JKU,
        now=now,
        exp_delta=300,
        jti=str(uuid.uuid4()),
    )


def _client(
    make_client: Callable[..., TestClient], trusted: TrustedIssuer, records: RecordList
) -> TestClient:
    client = make_client(jwt_required=True, trusted_issuers=[trusted])
    attach(records)
    return client


def _reasons(records: RecordList) -> list[str]:
    """Why each token was refused, from the one log line each refusal gets."""
    return [
        r.reason
        for r in records.records  # type: ignore[attr-defined]
        if r.getMessage().startswith("client authentication failed")
    ]


@pytest.mark.parametrize("allowlist", [[], [SANDBOX_JKU]], ids=["file-only", "file-and-jku"])
def test_sandbox_token_accepted_offline_with_a_jwks_file(
    make_client: Callable[..., TestClient],
    tmp_path: Path,
    sandbox_key: Key,
    network: respx.MockRouter,
    root_records: RecordList,
    allowlist: list[str],
) -> None:
    client = _client(
        make_client, _trusted(tmp_path, sandbox_key, jku_allowlist=allowlist), root_records
    )
    discovery = client.get(
        "/cds-services",
        headers={"Authorization": f"Bearer {sandbox_token(sandbox_key, f'{BASE}/cds-services')}"},
    )
    hook = client.post(
        PV,
        json=load_fixture("hooks/patient-view-overlap.json"),
        headers={"Authorization": f"Bearer {sandbox_token(sandbox_key, f'{BASE}{PV}')}"},
    )
    feedback = client.post(
        f"{PV}/feedback",
        json=feedback_body(),
        headers={"Authorization": f"Bearer {sandbox_token(sandbox_key, f'{BASE}{PV}/feedback')}"},
    )
    assert (discovery.status_code, hook.status_code, feedback.status_code) == (200, 200, 200)
    assert hook.json()["cards"]
    assert not network.calls  # the jku host was never contacted
    assert _reasons(root_records) == []


def test_unknown_kid_without_the_jku_on_the_list_is_refused_unfetched(
    make_client: Callable[..., TestClient],
    tmp_path: Path,
    sandbox_key: Key,
    network: respx.MockRouter,
    root_records: RecordList,
) -> None:
    client = _client(make_client, _trusted(tmp_path, sandbox_key), root_records)
    rotated = generate_key("ES384", kid="a-rotated-sandbox-key")
    response = client.get(
        "/cds-services",
        headers={
            "Authorization": "Bearer "
            + sandbox_token(rotated, f"{BASE}/cds-services", kid="a-rotated-sandbox-key")
        },
    )
    assert response.status_code == 401
    assert not network.calls
    assert _reasons(root_records) == ["jku-not-allowed"]


def test_unknown_kid_tries_the_allowlisted_jku_once_per_interval(
    make_client: Callable[..., TestClient],
    tmp_path: Path,
    sandbox_key: Key,
    network: respx.MockRouter,
    root_records: RecordList,
) -> None:
    client = _client(
        make_client, _trusted(tmp_path, sandbox_key, jku_allowlist=[SANDBOX_JKU]), root_records
    )
    rotated = generate_key("ES384", kid="a-rotated-sandbox-key")
    for _ in range(3):
        response = client.get(
            "/cds-services",
            headers={
                "Authorization": "Bearer "
                + sandbox_token(rotated, f"{BASE}/cds-services", kid="a-rotated-sandbox-key")
            },
        )
        assert response.status_code == 401
    # The host is unreachable: one attempt, then the refresh interval holds further ones back.
    assert [str(c.request.url) for c in network.calls] == [SANDBOX_JKU]
    assert _reasons(root_records) == ["jwks-unavailable"] * 3
    # The keys in the file still work meanwhile.
    ok = client.get(
        "/cds-services",
        headers={"Authorization": f"Bearer {sandbox_token(sandbox_key, f'{BASE}/cds-services')}"},
    )
    assert ok.status_code == 200
