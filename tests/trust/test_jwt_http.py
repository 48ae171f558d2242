"""CDS Client JWTs through HTTP: good tokens pass on every endpoint, every bad one is a bare 401."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from joserfc.jwk import OctKey

from tests.conftest import FIXTURES, load_fixture
from tests.security.jwt_factory import (
    TestIssuer,
    claims_for,
    generate_key,
    make_file_issuer,
    make_token,
    sign_raw,
    unsigned_token,
)
from tests.trust.conftest import PV, RecordList, attach, feedback_body, started_client

BASE = "http://testserver"
DISCOVERY = "/cds-services"
FEEDBACK = f"{PV}/feedback"
OVERLAP = "hooks/patient-view-overlap.json"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["fixtures"]
UNAUTHORIZED = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "security", "diagnostics": "Unauthorized"}],
}
EVIL_JWKS = "https://evil.example.net/jwks.json"


def _rules(cards: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((c["source"]["topic"]["code"], c["indicator"]) for c in cards)


def _call(client: TestClient, endpoint: str, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    if endpoint == DISCOVERY:
        return client.get(DISCOVERY, headers=headers)
    body = feedback_body() if endpoint == FEEDBACK else load_fixture(OVERLAP)
    return client.post(endpoint, json=body, headers=headers)


@pytest.fixture(scope="module")
def shared_jwt_client(
    tmp_path_factory: pytest.TempPathFactory, es_issuer: TestIssuer, rs_issuer: TestIssuer
) -> Iterator[TestClient]:
    # One app for the refusal matrix: refusals change no state worth isolating.
    client = started_client(
        tmp_path_factory.mktemp("jwt"),
        jwt_required=True,
        trusted_issuers=[es_issuer.trusted, rs_issuer.trusted],
    )
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def jwt_client(
    make_client: Callable[..., TestClient],
    es_issuer: TestIssuer,
    rs_issuer: TestIssuer,
    root_records: RecordList,
) -> TestClient:
    client = make_client(jwt_required=True, trusted_issuers=[es_issuer.trusted, rs_issuer.trusted])
    attach(root_records)  # create_app replaced the root handlers
    return client


@pytest.mark.parametrize("which", ["es", "rs"])
def test_valid_tokens_pass_discovery_hook_and_feedback(
    jwt_client: TestClient, es_issuer: TestIssuer, rs_issuer: TestIssuer, which: str
) -> None:
    issuer = es_issuer if which == "es" else rs_issuer

    discovery = _call(jwt_client, DISCOVERY, issuer.bearer(f"{BASE}{DISCOVERY}"))
    assert discovery.status_code == 200, discovery.text
    assert {s["id"] for s in discovery.json()["services"]} >= {"benzo-safety-patient-view"}

    hook = _call(jwt_client, PV, issuer.bearer(f"{BASE}{PV}"))
    assert hook.status_code == 200, hook.text
    expected = sorted((c["rule"], c["indicator"]) for c in EXPECTED[OVERLAP]["cards"])
    assert expected and _rules(hook.json()["cards"]) == expected

    feedback = _call(jwt_client, FEEDBACK, issuer.bearer(f"{BASE}{FEEDBACK}"))
    assert feedback.status_code == 200, feedback.text
    assert feedback.json() == {"received": 1, "stored": 1}


def _wrong_key(es: TestIssuer, aud: str, _: Path) -> str:
    impostor = generate_key("ES384", kid=es.kid)  # same kid, different key
    return "Bearer " + make_token(impostor, alg="ES384", iss=es.iss, aud=aud, kid=es.kid)


def _alg_none(es: TestIssuer, aud: str, _: Path) -> str:
    return "Bearer " + unsigned_token(
        claims_for(es.iss, aud, time.time()), {"alg": "none", "typ": "JWT", "kid": es.kid}
    )


def _hs256(es: TestIssuer, aud: str, _: Path) -> str:
    # The classic confusion attack: HMAC keyed with the issuer's *public* key.
    public = json.dumps(es.key.as_dict(private=False)).encode()
    return "Bearer " + sign_raw(
        {"alg": "HS256", "typ": "JWT", "kid": es.kid},
        claims_for(es.iss, aud, time.time()),
        OctKey.import_key(public),
        "HS256",
    )


def _expired(es: TestIssuer, aud: str, _: Path) -> str:
    return es.bearer(aud, iat_delta=-600, exp_delta=-120)


def _future_iat(es: TestIssuer, aud: str, _: Path) -> str:
    return es.bearer(aud, iat_delta=600, exp_delta=900)


def _wrong_aud(es: TestIssuer, aud: str, _: Path) -> str:
    # A token minted for another endpoint of ours (discovery's for a call, a call's for
    # discovery) must not be accepted.
    other = f"{BASE}{DISCOVERY}" if aud != f"{BASE}{DISCOVERY}" else f"{BASE}{PV}"
    return es.bearer(other)


def _unknown_issuer(_: TestIssuer, aud: str, tmp: Path) -> str:
    return make_file_issuer(tmp, "https://stranger.example.org").bearer(aud)


def _jku_off_list(es: TestIssuer, aud: str, _: Path) -> str:
    # A kid the issuer's own keys do not hold, with a jku that is not on its list.
    impostor = generate_key("ES384", kid="kid-from-elsewhere")
    return "Bearer " + make_token(
        impostor, alg="ES384", iss=es.iss, aud=aud, kid="kid-from-elsewhere", jku=EVIL_JWKS
    )


def _not_bearer(es: TestIssuer, aud: str, _: Path) -> str:
    return "Basic " + es.token(aud)


REFUSALS: dict[str, tuple[Callable[[TestIssuer, str, Path], str | None], str]] = {
    "wrong-key": (_wrong_key, "bad-signature"),
    "alg-none": (_alg_none, "bad-alg"),
    "hs256": (_hs256, "bad-alg"),
    "expired": (_expired, "expired"),
    "future-iat": (_future_iat, "iat-in-future"),
    "wrong-aud": (_wrong_aud, "bad-audience"),
    "unknown-issuer": (_unknown_issuer, "unknown-issuer"),
    "jku-off-list": (_jku_off_list, "jku-not-allowed"),
    "missing-header": (lambda *_: None, "missing-authorization"),
    "basic-scheme": (_not_bearer, "bad-scheme"),
}


@pytest.mark.parametrize("endpoint", [DISCOVERY, PV, FEEDBACK])
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_bad_token_is_bare_401_and_reason_is_logged(
    shared_jwt_client: TestClient,
    es_issuer: TestIssuer,
    root_records: RecordList,
    tmp_path: Path,
    endpoint: str,
    case: str,
) -> None:
    attach(root_records)
    build, reason = REFUSALS[case]
    authorization = build(es_issuer, f"{BASE}{endpoint}", tmp_path)
    with respx.mock(assert_all_called=False) as router:
        jwks = router.get(EVIL_JWKS).respond(200, json={"keys": []})
        response = _call(shared_jwt_client, endpoint, authorization)
    assert not jwks.called  # an off-list jku is never fetched
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED  # the same body whatever the reason
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")  # RFC 6750
    assert reason not in response.text

    logged = root_records.texts()
    # One line per refusal (the verifier once logged it too, so each 401 was two lines).
    refusals = [r for r in root_records.records if getattr(r, "reason", None) is not None]
    assert [getattr(r, "reason", None) for r in refusals] == [reason], logged
    assert refusals[0].levelname == "WARNING" and getattr(refusals[0], "path", None) == endpoint
    if authorization is not None:
        token = authorization.split(" ", 1)[1]
        signature = token.rsplit(".", 1)[1]
        for text in logged:
            assert token not in text
            if signature:
                assert signature not in text


def test_replayed_token_is_refused_the_second_time(
    jwt_client: TestClient, es_issuer: TestIssuer, root_records: RecordList
) -> None:
    authorization = es_issuer.bearer(f"{BASE}{PV}")
    first = _call(jwt_client, PV, authorization)
    second = _call(jwt_client, PV, authorization)
    assert first.status_code == 200, first.text
    assert second.status_code == 401
    assert second.json() == UNAUTHORIZED
    assert any(getattr(r, "reason", None) == "replayed-jti" for r in root_records.records)
    token = authorization.split(" ", 1)[1]
    assert all(token not in text for text in root_records.texts())


def test_same_jti_from_two_issuers_is_not_a_replay(
    jwt_client: TestClient, es_issuer: TestIssuer, rs_issuer: TestIssuer
) -> None:
    jti = "shared-jti-0001"
    first = _call(jwt_client, DISCOVERY, es_issuer.bearer(f"{BASE}{DISCOVERY}", jti=jti))
    second = _call(jwt_client, DISCOVERY, rs_issuer.bearer(f"{BASE}{DISCOVERY}", jti=jti))
    assert (first.status_code, second.status_code) == (200, 200)


def test_public_base_url_sets_the_audience(
    make_client: Callable[..., TestClient], es_issuer: TestIssuer
) -> None:
    public = "https://cds.example.org/benzo"
    client = make_client(
        jwt_required=True, trusted_issuers=[es_issuer.trusted], public_base_url=public
    )
    assert _call(client, DISCOVERY, es_issuer.bearer(f"{public}{DISCOVERY}")).status_code == 200
    hook = _call(client, PV, es_issuer.bearer(f"{public}{PV}"))
    assert hook.status_code == 200, hook.text
    assert _call(client, FEEDBACK, es_issuer.bearer(f"{public}{FEEDBACK}")).status_code == 200
    # The Host-derived URL is not the audience once public_base_url is set.
    for endpoint in (DISCOVERY, PV, FEEDBACK):
        assert _call(client, endpoint, es_issuer.bearer(f"{BASE}{endpoint}")).status_code == 401
        assert (
            _call(
                client, endpoint, es_issuer.bearer(f"https://cds.example.org{endpoint}")
            ).status_code
            == 401
        )


def test_jwt_off_needs_no_header(make_client: Callable[..., TestClient]) -> None:
    # The counterpart of every test above: without jwt_required the same calls pass bare.
    client = make_client(jwt_required=False)
    for endpoint in (DISCOVERY, PV, FEEDBACK):
        assert _call(client, endpoint, None).status_code == 200
