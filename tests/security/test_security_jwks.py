"""JWKS fetching for URL issuers: caching, key rotation, rate limits and outages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from app.errors import Unauthorized
from app.security import JwtVerifier
from app.security_jwks import MAX_JWKS_BYTES
from tests.security.jwt_factory import TestIssuer, generate_key, make_token, public_jwks
from tests.security.support import AUD, URL_JWKS, FakeClock, settings_for

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


async def test_cache_expires_after_ttl(verifier: JwtVerifier, url_issuer: TestIssuer,
                                       clock: FakeClock, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        return_value=httpx.Response(200, json=public_jwks(url_issuer.key)))
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    clock.now += 599
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 1
    clock.now += 2
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 2


async def test_rotated_key_triggers_one_refetch(verifier: JwtVerifier, url_issuer: TestIssuer,
                                                clock: FakeClock,
                                                respx_mock: respx.MockRouter) -> None:
    new_key = generate_key("ES384", kid="rotated")
    route = respx_mock.get(URL_JWKS).mock(side_effect=[
        httpx.Response(200, json=public_jwks(url_issuer.key)),
        httpx.Response(200, json=public_jwks(url_issuer.key, new_key)),
    ])
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    clock.now += 31  # past the refetch rate limit, well inside the TTL
    token = make_token(new_key, alg="ES384", iss=url_issuer.iss, aud=AUD, kid="rotated",
                       now=clock.now)
    assert (await verifier.verify(f"Bearer {token}", AUD)).iss == url_issuer.iss
    assert route.call_count == 2


async def test_unknown_kids_cannot_hammer_the_jwks_host(verifier: JwtVerifier,
                                                        url_issuer: TestIssuer, clock: FakeClock,
                                                        respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(URL_JWKS).mock(
        return_value=httpx.Response(200, json=public_jwks(url_issuer.key)))
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    for i in range(5):
        token = url_issuer.token(AUD, now=clock.now, kid=f"nope-{i}")
        assert await reason_of(verifier, token) == "unknown-kid"
    # Within the first 30 s after the fetch, no refetch at all.
    assert route.call_count == 1
    clock.now += 31
    for i in range(5):
        assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now,
                                                          kid=f"again-{i}")) == "unknown-kid"
    assert route.call_count == 2


async def test_concurrent_first_calls_share_one_fetch(verifier: JwtVerifier,
                                                      url_issuer: TestIssuer, clock: FakeClock,
                                                      respx_mock: respx.MockRouter) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.05)
        return httpx.Response(200, json=public_jwks(url_issuer.key))

    route = respx_mock.get(URL_JWKS).mock(side_effect=slow)
    clients = await asyncio.gather(*(verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
                                     for _ in range(5)))
    assert len({c.jti for c in clients}) == 5
    assert route.call_count == 1


@pytest.mark.parametrize("response", [
    httpx.Response(500),
    httpx.Response(302, headers={"Location": "https://attacker.example.net/jwks"}),
    httpx.Response(200, text="<html>"),
    httpx.Response(200, json={"keys": []}),
    httpx.Response(200, json={"keys": [{"kty": "oct", "k": HMAC_K}]}),
    httpx.Response(200, content=b'{"keys": [' + b" " * MAX_JWKS_BYTES + b"]}"),
])
async def test_unusable_jwks_response(verifier: JwtVerifier, url_issuer: TestIssuer,
                                      clock: FakeClock, respx_mock: respx.MockRouter,
                                      response: httpx.Response) -> None:
    respx_mock.get(URL_JWKS).mock(return_value=response)
    evil = respx_mock.get("https://attacker.example.net/jwks")
    assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now)) == "jwks-unavailable"
    assert not evil.called


async def test_transport_error_then_recovery_is_rate_limited(verifier: JwtVerifier,
                                                             url_issuer: TestIssuer,
                                                             clock: FakeClock,
                                                             respx_mock: respx.MockRouter
                                                             ) -> None:
    route = respx_mock.get(URL_JWKS).mock(side_effect=[
        httpx.ConnectError("down"),
        httpx.Response(200, json=public_jwks(url_issuer.key)),
    ])
    assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now)) == "jwks-unavailable"
    assert await reason_of(verifier, url_issuer.token(AUD, now=clock.now)) == "jwks-unavailable"
    assert route.call_count == 1
    clock.now += 31
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 2


async def test_stale_keys_survive_an_outage(verifier: JwtVerifier, url_issuer: TestIssuer,
                                            clock: FakeClock,
                                            respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(URL_JWKS).mock(side_effect=[
        httpx.Response(200, json=public_jwks(url_issuer.key)),
        httpx.Response(503),
    ])
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    clock.now += 700  # TTL passed; the refetch fails
    await verifier.verify(url_issuer.bearer(AUD, now=clock.now), AUD)
    assert route.call_count == 2
