"""The shared FHIR HTTP client and one bounded GET that either returns JSON or says why not."""

from __future__ import annotations

import asyncio
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
import orjson

from app.config import Settings

USER_AGENT = "benzo-safety-cds"


class FetchFailure(Exception):
    """A FHIR GET that gave no usable answer; `reason` is safe to show (no URL, token or id)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def make_fhir_client(settings: Settings) -> httpx.AsyncClient:
    """One client per process: tight timeouts, no redirects, no HTTP/2, and no cookie memory."""
    # The client is shared across patients and EHRs, so a Set-Cookie from one FHIR server
    # must never be replayed on another call: the jar's policy accepts no cookies at all.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.fhir_timeout_seconds),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        follow_redirects=False,
        http2=False,
        cookies=no_cookies,
        headers={"User-Agent": USER_AGENT},
    )


class FhirFetcher:
    """GETs against one FHIR server with one (optional) bearer token."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        token: str | None,
        *,
        timeout_seconds: float,
        max_bytes: int,
    ) -> None:
        self._client = client
        self._headers = {"Accept": "application/fhir+json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes

    async def get_json(self, url: str) -> Any:
        """GET `url` and parse its JSON body, or raise FetchFailure."""
        try:
            # asyncio.timeout bounds the whole exchange; httpx's own timeouts are per phase.
            async with asyncio.timeout(self._timeout):
                body = await self._read(url)
        except TimeoutError:
            raise FetchFailure(f"timed out after {self._timeout:g} s") from None
        except httpx.TimeoutException:
            raise FetchFailure(f"timed out after {self._timeout:g} s") from None
        except httpx.HTTPError as error:
            raise FetchFailure(f"FHIR server unreachable ({type(error).__name__})") from None
        except httpx.InvalidURL:
            # Not an HTTPError; callers normalize URLs first (app/fhir/urls.py): a backstop.
            raise FetchFailure("the URL to fetch is not valid") from None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchFailure("FHIR server answered with invalid JSON") from None

    async def _read(self, url: str) -> bytes:
        # follow_redirects=False per request too, in case a caller hands in a client without it:
        # a redirect would carry the bearer token to wherever the server points.
        async with self._client.stream(
            "GET", url, headers=self._headers, follow_redirects=False
        ) as response:
            if response.is_redirect:
                raise FetchFailure(
                    f"FHIR server answered {response.status_code} (redirects are not followed)"
                )
            if response.status_code != 200:
                raise FetchFailure(f"FHIR server answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_bytes:
                    raise FetchFailure(f"FHIR answer larger than {self._max_bytes} bytes")
            return bytes(body)
