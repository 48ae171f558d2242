"""JWKS fetching for URL issuers: caching, key rotation, rate limits and outages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from app.errors import Unauthorized
from app.security.jwks import MAX_JWKS_BYTES
from app.security.verify import JwtVerifier
from tests.security.jwt_factory import (
    TestIssuer,
    generate_key,
    make_file_issuer,
    make_token,
    public_jwks,
)
from tests.security.support import AUD, JKU_OK, NOW, URL_JWKS, FakeClock, settings_for

HMAC_K = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"


@pytest.fixture
async def verifier(url_issuer: TestIssuer, clock: FakeClock) -> AsyncIterator[JwtVerifier]:
    # No client passed in: the verifier makes (and closes) its own.
    verifier = JwtVerifier(settings_for(url_issuer.trusted), clock=clock)
    yield verifier
    await verifier.aclose()


async def reason_of(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as info:
        await verifier.verify(f"Bearer {token}", AUD)
    return info.value.reason


async def test_cache_expires_after_ttl(
    verifier: JwtVerifier, url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        return_value=httpx.Response(200, json=public_jwks(url_issuer.key))
    )
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    clock.now += 599
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 1
    clock.now += 2
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 2


async def test_rotated_key_triggers_one_refetch(
    verifier: JwtVerifier, url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    new_key = generate_key("ES384", kid="rotated")
    route = respx_mock.get(URL_JWKS).mock(
        side_effect=[
            httpx.Response(200, json=public_jwks(url_issuer.key)),
            httpx.Response(200, json=public_jwks(url_issuer.key, new_key)),
        ]
    )
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    clock.now += 31  # past the refetch rate limit, well inside the TTL
    token = make_token(
        new_key, alg="ES384", iss=url_issuer.iss, aud=AUD, kid="rotated", now=clock.now
    )
    assert (await verifier.verify(f"Bearer {token}", AUD)).iss == url_issuer.iss
    assert route.call_count == 2


async def test_unknown_kids_cannot_hammer_the_jwks_host(
    verifier: JwtVerifier, url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        return_value=httpx.Response(200, json=public_jwks(url_issuer.key))
    )
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    for i in range(5):
        token = url_issuer.token(AUD, now=clock.now, kid=f"nope-{i}")
        assert await reason_of(verifier, token) == "unknown-kid"
    # Within the first 30 s after the fetch, no refetch at all.
    assert route.call_count == 1
    clock.now += 31
    for i in range(5):
        assert (
            await reason_of(verifier, url_issuer.token(AUD, now=clock.now, kid=f"again-{i}"))
            == "unknown-kid"
        )
    assert route.call_count == 2


async def test_concurrent_first_calls_share_one_fetch(
    verifier: JwtVerifier, url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=public_jwks(url_issuer.key))

    route = respx_mock.get(URL_JWKS).mock(side_effect=slow)
    clients = await asyncio.gather(
        *(verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD) for _ in range(5))
    )
    assert len({c.jti for c in clients}) == 5
    assert route.call_count == 1


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(302, headers={"Location": "https://attacker.example.net/jwks"}),
        httpx.Response(200, text="<html>"),
        httpx.Response(200, json={"keys": []}),
        httpx.Response(200, json={"keys": [{"kty": "oct", "k": HMAC_K}]}),
        httpx.Response(200, content=b'{"keys": [' + b" " * MAX_JWKS_BYTES + b"]}"),
    ],
)
async def test_unusable_jwks_response(
    verifier: JwtVerifier,
    url_issuer: TestIssuer,
    clock: FakeClock,
    respx_mock: respx.MockRouter,
    response: httpx.Response,
) -> None:
    respx_mock.get(URL_JWKS).mock(return_value=response)
    evil = respx_mock.get("https://attacker.example.net/jwks")
    assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now)) == "jwks-unavailable"
    assert not evil.called


async def test_transport_error_then_recovery_is_rate_limited(
    verifier: JwtVerifier, url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        side_effect=[
            httpx.ConnectError("down"),
            httpx.Response(200, json=public_jwks(url_issuer.key)),
        ]
    )
    assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now)) == "jwks-unavailable"
    assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now)) == "jwks-unavailable"
    assert route.call_count == 1
    clock.now += 31
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 2


async def test_stale_keys_survive_an_outage(
    verifier: JwtVerifier, url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        side_effect=[
            httpx.Response(200, json=public_jwks(url_issuer.key)),
            httpx.Response(503),
        ]
    )
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    clock.now += 700  # TTL passed; the refetch fails
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 2


# --- configured keys first, jku only for an unknown kid, refresh at most once per interval ---


async def test_configured_url_holding_the_kid_means_no_jku_fetch(
    url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    trusted = url_issuer.trusted.model_copy(update={"jku_allowlist": [JKU_OK]})
    verifier = JwtVerifier(settings_for(trusted), clock=clock)
    configured = respx_mock.get(URL_JWKS).respond(200, json=public_jwks(url_issuer.key))
    jku = respx_mock.get(JKU_OK).respond(200, json=public_jwks(url_issuer.key))
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now, jku=JKU_OK), AUD)
    assert configured.call_count == 1 and not jku.called
    await verifier.aclose()


async def test_allowlisted_jku_serves_a_kid_the_configured_url_lacks(
    url_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    trusted = url_issuer.trusted.model_copy(update={"jku_allowlist": [JKU_OK]})
    verifier = JwtVerifier(settings_for(trusted), clock=clock)
    other = generate_key("ES384", kid="only-at-jku")
    respx_mock.get(URL_JWKS).respond(200, json=public_jwks(url_issuer.key))
    jku = respx_mock.get(JKU_OK).respond(200, json=public_jwks(other))
    token = make_token(
        other,
        alg="ES384",
        iss=url_issuer.iss,
        aud=AUD,
        kid="only-at-jku",
        jku=JKU_OK,
        now=clock.now,
    )
    assert (await verifier.verify(f"Bearer {token}", AUD)).iss == url_issuer.iss
    assert jku.call_count == 1
    await verifier.aclose()


async def test_jku_refresh_on_unknown_kid_honours_the_interval_setting(
    jku_issuer: TestIssuer, clock: FakeClock, respx_mock: respx.MockRouter
) -> None:
    verifier = JwtVerifier(
        settings_for(jku_issuer.trusted, jwks_refresh_interval_seconds=120), clock=clock
    )
    route = respx_mock.get(JKU_OK).respond(200, json=public_jwks(jku_issuer.key))
    await verifier.verify(jku_issuer.bearer(AUD, now=clock.now, jku=JKU_OK), AUD)
    for step in (0, 60, 119):
        clock.now = NOW + step
        token = jku_issuer.token(AUD, now=clock.now, jku=JKU_OK, kid=f"unknown-{step}")
        assert await reason_of(verifier, token) == "unknown-kid"
    assert route.call_count == 1
    clock.now = NOW + 121
    assert (
        await reason_of(
            verifier, jku_issuer.token(AUD, now=clock.now, jku=JKU_OK, kid="unknown-late")
        )
        == "unknown-kid"
    )
    assert route.call_count == 2
    await verifier.aclose()


async def test_replaced_jwks_file_is_reread_for_an_unknown_kid(
    tmp_path: Path, clock: FakeClock
) -> None:
    issuer = make_file_issuer(tmp_path)
    assert issuer.jwks_path is not None
    verifier = JwtVerifier(settings_for(issuer.trusted), clock=clock)
    await verifier.verify(issuer.bearer(AUD, now=clock.now), AUD)
    rotated = generate_key("ES384", kid="rotated-into-the-file")
    issuer.jwks_path.write_text(json.dumps(public_jwks(issuer.key, rotated)))
    token = make_token(
        rotated, alg="ES384", iss=issuer.iss, aud=AUD, kid=str(rotated.kid), now=clock.now
    )
    # Within the refresh interval of the first read the file is not looked at again...
    assert await reason_of(verifier, token) == "unknown-kid"
    clock.now += 31
    # ... after it, the replaced file is read, and a file caught half-written keeps the old keys.
    token = make_token(
        rotated, alg="ES384", iss=issuer.iss, aud=AUD, kid=str(rotated.kid), now=clock.now
    )
    assert (await verifier.verify(f"Bearer {token}", AUD)).iss == issuer.iss
    issuer.jwks_path.write_text('{"keys": [')
    clock.now += 31
    assert await reason_of(verifier, issuer.token(AUD, now=clock.now, kid="x")) == "unknown-kid"
    await verifier.verify(issuer.bearer(AUD, now=clock.now), AUD)
