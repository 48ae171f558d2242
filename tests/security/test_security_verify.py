"""JwtVerifier.verify against CDS Hooks 2.0 "Trusting CDS Clients" and its best practices."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from joserfc.jwk import OctKey

from app.errors import Unauthorized
from app.security.verify import CdsClient, JwtVerifier
from tests.security.jwt_factory import (
    TestIssuer,
    claims_for,
    generate_key,
    make_file_issuer,
    make_token,
    public_jwks,
    sign_raw,
    unsigned_token,
)
from tests.security.support import AUD, JKU_ISS, JKU_OK, NOW, URL_JWKS, FakeClock, settings_for


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def verifier(
    file_issuer: TestIssuer,
    url_issuer: TestIssuer,
    jku_issuer: TestIssuer,
    clock: FakeClock,
    http: httpx.AsyncClient,
) -> JwtVerifier:
    settings = settings_for(file_issuer.trusted, url_issuer.trusted, jku_issuer.trusted)
    return JwtVerifier(settings, http, clock)


async def reason_of(verifier: JwtVerifier, authorization: str | None, aud: str = AUD) -> str:
    with pytest.raises(Unauthorized) as info:
        await verifier.verify(authorization, aud)
    return info.value.reason


# --- accepted tokens --------------------------------------------------------------------------


async def test_es384_from_jwks_file_is_accepted(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    client = await verifier.verify(
        file_issuer.bearer(AUD, now=NOW, jti="j-1", extra={"tenant": "org-7"}), AUD
    )
    assert client == CdsClient(
        iss=file_issuer.iss,
        tenant="org-7",
        jti="j-1",
        fhir_servers=("https://fhir.example.org/r4",),
    )


async def test_rs384_from_jwks_url_is_accepted(
    verifier: JwtVerifier, url_issuer: TestIssuer, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        return_value=httpx.Response(200, json=public_jwks(url_issuer.key))
    )
    client = await verifier.verify(url_issuer.bearer(AUD, now=NOW), AUD)
    assert client.iss == url_issuer.iss
    assert client.tenant is None
    # The second call is served from the cache.
    await verifier.verify(url_issuer.bearer(AUD, now=NOW), AUD)
    assert route.call_count == 1


async def test_allowlisted_jku_is_fetched_and_accepted(
    verifier: JwtVerifier, jku_issuer: TestIssuer, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(JKU_OK).mock(
        return_value=httpx.Response(200, json=public_jwks(jku_issuer.key))
    )
    client = await verifier.verify(jku_issuer.bearer(AUD, now=NOW, jku=JKU_OK), AUD)
    assert client.iss == JKU_ISS
    assert route.call_count == 1


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
async def test_other_allowed_algorithms(tmp_path, clock: FakeClock, alg: str) -> None:
    issuer = make_file_issuer(tmp_path, alg=alg)
    verifier = JwtVerifier(settings_for(issuer.trusted), clock=clock)
    assert (await verifier.verify(issuer.bearer(AUD, now=NOW), AUD)).iss == issuer.iss


async def test_audience_array_containing_ours_is_accepted(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    aud = ["https://other.example.org/cds-services/x", AUD]
    assert (await verifier.verify(file_issuer.bearer(aud, now=NOW), AUD)).iss == file_issuer.iss


async def test_audience_trailing_slash_is_ignored(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    await verifier.verify(file_issuer.bearer(AUD + "/", now=NOW), AUD)
    await verifier.verify(file_issuer.bearer(AUD, now=NOW), AUD + "/")


@pytest.mark.parametrize("typ", ["jwt", None])
async def test_lowercase_or_missing_typ_is_tolerated(
    verifier: JwtVerifier, file_issuer: TestIssuer, typ: str | None
) -> None:
    header = {"alg": "ES384", "kid": file_issuer.kid} | ({"typ": typ} if typ else {})
    token = sign_raw(header, claims_for(file_issuer.iss, AUD, NOW), file_issuer.key, "ES384")
    assert (await verifier.verify(f"Bearer {token}", AUD)).iss == file_issuer.iss


async def test_clock_skew_within_leeway_is_accepted(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    # Epic-style: nbf 5 minutes before iat, iat a little ahead of our clock, exp just passed.
    await verifier.verify(
        file_issuer.bearer(AUD, now=NOW, iat_delta=20, extra={"nbf": NOW - 300, "sub": "client"}),
        AUD,
    )
    await verifier.verify(file_issuer.bearer(AUD, now=NOW, iat_delta=-300, exp_delta=-20), AUD)


async def test_bearer_scheme_is_case_insensitive(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    await verifier.verify("bearer " + file_issuer.token(AUD, now=NOW), AUD)


# --- refused tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing-authorization"),
        ("", "missing-authorization"),
        ("Basic dXNlcjpwYXNz", "bad-scheme"),
        ("Bearer", "malformed"),
        ("Bearer not-a-jwt", "malformed"),
        ("Bearer a.b.c", "malformed"),
    ],
)
async def test_missing_or_unusable_authorization(
    verifier: JwtVerifier, authorization: str | None, reason: str
) -> None:
    assert await reason_of(verifier, authorization) == reason


async def test_wrong_key_is_bad_signature(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    impostor = generate_key("ES384", kid=file_issuer.kid)
    token = make_token(
        impostor, alg="ES384", iss=file_issuer.iss, aud=AUD, kid=file_issuer.kid, now=NOW
    )
    assert await reason_of(verifier, f"Bearer {token}") == "bad-signature"


async def test_tampered_payload_is_bad_signature(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    header, _, signature = file_issuer.token(AUD, now=NOW).split(".")
    other = file_issuer.token(AUD, now=NOW, extra={"tenant": "someone-else"}).split(".")[1]
    assert await reason_of(verifier, f"Bearer {header}.{other}.{signature}") == "bad-signature"


async def test_alg_none_is_refused(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    token = unsigned_token(
        {"iss": file_issuer.iss, "aud": AUD, "iat": NOW, "exp": NOW + 300, "jti": "n-1"},
        {"alg": "none", "typ": "JWT", "kid": file_issuer.kid},
    )
    assert await reason_of(verifier, f"Bearer {token}") == "bad-alg"


async def test_hs256_signed_with_public_key_is_refused(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    # Classic key-confusion attack: HMAC keyed with the issuer's public key material.
    # joserfc refuses to build such a key, so the token is signed by hand.
    secret = file_issuer.key.as_pem(private=False)
    claims = {"iss": file_issuer.iss, "aud": AUD, "iat": NOW, "exp": NOW + 300, "jti": "h-1"}
    head, body, _ = unsigned_token(
        claims, {"alg": "HS256", "typ": "JWT", "kid": file_issuer.kid}
    ).split(".")
    digest = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert await reason_of(verifier, f"Bearer {head}.{body}.{sig}") == "bad-alg"


@pytest.mark.parametrize("typ", ["JOSE", "at+jwt", 7])
async def test_other_typ_is_refused(
    verifier: JwtVerifier, file_issuer: TestIssuer, typ: object
) -> None:
    header = {"alg": "ES384", "typ": typ, "kid": file_issuer.kid}
    token = sign_raw(header, claims_for(file_issuer.iss, AUD, NOW), file_issuer.key, "ES384")
    assert await reason_of(verifier, f"Bearer {token}") == "bad-typ"


async def test_crit_header_is_refused(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    header = {"alg": "ES384", "typ": "JWT", "kid": file_issuer.kid, "crit": ["exp"], "exp": 1}
    token = sign_raw(header, claims_for(file_issuer.iss, AUD, NOW), file_issuer.key, "ES384")
    assert await reason_of(verifier, f"Bearer {token}") == "bad-header"


async def test_expired(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    token = file_issuer.bearer(AUD, now=NOW, iat_delta=-600, exp_delta=-31)
    assert await reason_of(verifier, token) == "expired"


async def test_future_iat(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    token = file_issuer.bearer(AUD, now=NOW, iat_delta=120, exp_delta=400)
    assert await reason_of(verifier, token) == "iat-in-future"


async def test_future_nbf(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    token = file_issuer.bearer(AUD, now=NOW, extra={"nbf": NOW + 120})
    assert await reason_of(verifier, token) == "not-yet-valid"


async def test_lifetime_too_long(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    token = file_issuer.bearer(AUD, now=NOW, exp_delta=3601)
    assert await reason_of(verifier, token) == "lifetime-too-long"


@pytest.mark.parametrize("claim", ["exp", "iat", "jti"])
async def test_missing_required_claim(
    verifier: JwtVerifier, file_issuer: TestIssuer, claim: str
) -> None:
    token = file_issuer.bearer(AUD, now=NOW, omit=(claim,))
    assert await reason_of(verifier, token) == f"missing-{claim}"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": "soon"}, "bad-exp"),
        ({"iat": True}, "bad-iat"),
        ({"jti": ""}, "missing-jti"),
        ({"jti": 12}, "missing-jti"),
        ({"tenant": ["a"]}, "bad-tenant"),
        ({"iss": 5}, "missing-iss"),
    ],
)
async def test_ill_typed_claims(
    verifier: JwtVerifier, file_issuer: TestIssuer, claims: dict[str, object], reason: str
) -> None:
    token = make_token(
        file_issuer.key,
        alg="ES384",
        iss=file_issuer.iss,
        aud=AUD,
        kid=file_issuer.kid,
        now=NOW,
        extra=claims,
    )
    assert await reason_of(verifier, f"Bearer {token}") == reason


@pytest.mark.parametrize(
    "aud",
    [
        "https://cds.example.org/cds-services",
        "https://cds.example.org/cds-services/benzo-safety/feedback",
        "https://cds.example.org/cds-services/benzo-safety//",
        "sand_man",
        ["https://elsewhere.example.org"],
        [],
    ],
)
async def test_wrong_audience(
    verifier: JwtVerifier, file_issuer: TestIssuer, aud: str | list[str]
) -> None:
    assert await reason_of(verifier, file_issuer.bearer(aud, now=NOW)) == "bad-audience"


async def test_unknown_issuer(verifier: JwtVerifier, tmp_path) -> None:
    stranger = make_file_issuer(tmp_path, "https://stranger.example.org")
    assert await reason_of(verifier, stranger.bearer(AUD, now=NOW)) == "unknown-issuer"


async def test_trusted_iss_signed_by_stranger_key(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    stranger = generate_key("ES384")
    token = make_token(
        stranger, alg="ES384", iss=file_issuer.iss, aud=AUD, kid=str(stranger.kid), now=NOW
    )
    assert await reason_of(verifier, f"Bearer {token}") == "unknown-kid"


async def test_jku_off_the_list_is_never_fetched(
    verifier: JwtVerifier,
    jku_issuer: TestIssuer,
    file_issuer: TestIssuer,
    respx_mock: respx.MockRouter,
) -> None:
    evil = "https://attacker.example.net/jwks.json"
    route = respx_mock.get(evil).mock(
        return_value=httpx.Response(200, json=public_jwks(jku_issuer.key))
    )
    assert await reason_of(verifier, jku_issuer.bearer(AUD, now=NOW, jku=evil)) == "jku-not-allowed"
    # An issuer configured with a JWKS file: a kid its file lacks is not looked up there.
    stranger = generate_key("ES384", kid="not-in-the-file")
    token = make_token(
        stranger, alg="ES384", iss=file_issuer.iss, aud=AUD, kid=stranger.kid, jku=evil, now=NOW
    )
    assert await reason_of(verifier, f"Bearer {token}") == "jku-not-allowed"
    # A look-alike of the allowlisted URL is not the allowlisted URL.
    assert (
        await reason_of(verifier, jku_issuer.bearer(AUD, now=NOW, jku=JKU_OK + "?x=1"))
        == "jku-not-allowed"
    )
    assert not route.called


async def test_configured_key_wins_over_any_jku(
    verifier: JwtVerifier, file_issuer: TestIssuer, respx_mock: respx.MockRouter
) -> None:
    # The kid is in the issuer's own JWKS file: the jku is only a hint and is not fetched,
    # on the list or not (a deployment without internet access still trusts the token).
    route = respx_mock.route().mock(side_effect=AssertionError("nothing may be fetched"))
    for jku in ("https://attacker.example.net/jwks.json", JKU_OK):
        client = await verifier.verify(file_issuer.bearer(AUD, now=NOW, jku=jku), AUD)
        assert client.iss == file_issuer.iss
    assert not route.called


async def test_jku_only_issuer_without_jku(verifier: JwtVerifier, jku_issuer: TestIssuer) -> None:
    assert await reason_of(verifier, jku_issuer.bearer(AUD, now=NOW)) == "missing-jku"


async def test_replayed_jti(
    verifier: JwtVerifier, file_issuer: TestIssuer, clock: FakeClock
) -> None:
    await verifier.verify(file_issuer.bearer(AUD, now=NOW, jti="once"), AUD)
    assert await reason_of(verifier, file_issuer.bearer(AUD, now=NOW, jti="once")) == "replayed-jti"
    # Even a freshly signed token may not reuse the jti while the first one is alive.
    clock.now += 200
    assert (
        await reason_of(verifier, file_issuer.bearer(AUD, now=clock.now, jti="once"))
        == "replayed-jti"
    )


async def test_same_jti_from_two_issuers_is_two_tokens(
    verifier: JwtVerifier,
    file_issuer: TestIssuer,
    url_issuer: TestIssuer,
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.get(URL_JWKS).mock(
        return_value=httpx.Response(200, json=public_jwks(url_issuer.key))
    )
    await verifier.verify(file_issuer.bearer(AUD, now=NOW, jti="shared"), AUD)
    await verifier.verify(url_issuer.bearer(AUD, now=NOW, jti="shared"), AUD)


async def test_refused_token_does_not_burn_its_jti(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    assert (
        await reason_of(verifier, file_issuer.bearer("https://wrong", now=NOW, jti="keep"))
        == "bad-audience"
    )
    await verifier.verify(file_issuer.bearer(AUD, now=NOW, jti="keep"), AUD)


async def test_key_of_wrong_type_for_alg(tmp_path, clock: FakeClock) -> None:
    ec_key = generate_key("ES256", kid="k")  # P-256
    issuer = make_file_issuer(tmp_path, alg="ES384", key=ec_key)
    verifier = JwtVerifier(settings_for(issuer.trusted), clock=clock)
    claims = claims_for(issuer.iss, AUD, NOW)
    # Signed with the P-256 key but labelled ES384 / RS384: the key cannot serve that alg.
    for label in ("ES384", "RS384"):
        token = sign_raw({"alg": label, "typ": "JWT", "kid": "k"}, claims, ec_key, "ES256")
        assert await reason_of(verifier, f"Bearer {token}") == "bad-key"


async def test_kid_required_when_jwks_has_several_keys(tmp_path, clock: FakeClock) -> None:
    issuer = make_file_issuer(tmp_path, extra_keys=[generate_key("ES384")])
    verifier = JwtVerifier(settings_for(issuer.trusted), clock=clock)
    assert await reason_of(verifier, issuer.bearer(AUD, now=NOW, kid=None)) == "missing-kid"
    assert (await verifier.verify(issuer.bearer(AUD, now=NOW), AUD)).iss == issuer.iss


async def test_kid_optional_with_a_single_key(
    verifier: JwtVerifier, file_issuer: TestIssuer
) -> None:
    await verifier.verify(file_issuer.bearer(AUD, now=NOW, kid=None), AUD)


async def test_hmac_key_in_jwks_is_never_used(tmp_path, clock: FakeClock) -> None:
    issuer = make_file_issuer(tmp_path)
    assert issuer.jwks_path is not None
    import json

    jwks = json.loads(issuer.jwks_path.read_text())
    jwks["keys"].append({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"})
    issuer.jwks_path.write_text(json.dumps(jwks))
    verifier = JwtVerifier(settings_for(issuer.trusted), clock=clock)
    token = make_token(
        OctKey.import_key(b"secret-secret-secret"),
        alg="HS256",
        iss=issuer.iss,
        aud=AUD,
        kid="hmac",
        now=NOW,
    )
    assert await reason_of(verifier, f"Bearer {token}") == "bad-alg"
    await verifier.verify(issuer.bearer(AUD, now=NOW), AUD)


async def test_unreadable_jwks_file(tmp_path, clock: FakeClock) -> None:
    issuer = make_file_issuer(tmp_path)
    assert issuer.jwks_path is not None
    issuer.jwks_path.write_text("{not json")
    verifier = JwtVerifier(settings_for(issuer.trusted), clock=clock)
    assert await reason_of(verifier, issuer.bearer(AUD, now=NOW)) == "jwks-unavailable"


# --- logging ----------------------------------------------------------------------------------


async def test_refusal_carries_reason_and_iss_but_the_verifier_logs_nothing(
    verifier: JwtVerifier, file_issuer: TestIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    # The app's error handler logs each refusal once, with the request's path.
    token = file_issuer.token(AUD, now=NOW, exp_delta=-100, iat_delta=-400)
    with caplog.at_level(logging.DEBUG, logger="app.security"), pytest.raises(Unauthorized) as info:
        await verifier.verify(f"Bearer {token}", AUD)
    assert (info.value.reason, info.value.iss) == ("expired", file_issuer.iss)
    assert not [r for r in caplog.records if r.name == "app.security"]
    assert str(info.value) == "Unauthorized"


async def test_unverified_iss_is_cut_short(verifier: JwtVerifier, file_issuer: TestIssuer) -> None:
    long_iss = "https://attacker.example/" + "x" * 500
    token = make_token(
        file_issuer.key, alg=file_issuer.alg, iss=long_iss, aud=AUD, kid=file_issuer.kid, now=NOW
    )
    with pytest.raises(Unauthorized) as info:
        await verifier.verify(f"Bearer {token}", AUD)
    assert info.value.reason == "unknown-issuer"
    assert info.value.iss == long_iss[:200]
