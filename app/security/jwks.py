"""JWK Set loading and caching for trusted CDS Clients (files, configured URLs, allowlisted jku)."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet, RSAKey

logger = logging.getLogger("app.security")

MAX_JWKS_BYTES = 256 * 1024
MIN_RSA_BITS = 2048


class JwksError(Exception):
    """A JWK Set could not be had or read; the message is safe to log."""


@dataclass
class _Entry:
    keys: tuple[Key, ...]
    fetched_at: float  # last success; -inf when never fetched
    attempted_at: float  # last attempt, successful or not


def usable_keys(key_set: KeySet) -> tuple[Key, ...]:
    """Asymmetric signing keys only: an `oct` (HMAC) or encryption key is never a verifier."""
    keys = []
    for key in key_set:
        if key.key_type not in ("RSA", "EC") or key.get("use") not in (None, "sig"):
            continue
        if isinstance(key, RSAKey) and key.public_key.key_size < MIN_RSA_BITS:
            continue
        keys.append(key)
    return tuple(keys)


def parse_jwks(raw: bytes | str) -> tuple[Key, ...]:
    try:
        data: Any = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise JwksError("not a JWK Set")
        # Checked above to be an object with a "keys" list; the key set's TypedDict is not
        # something a parsed JSON value can be proven to be.
        keys = usable_keys(KeySet.import_key_set(data))  # type: ignore[arg-type]
    except JwksError:
        raise
    except (JoseError, ValueError, KeyError, TypeError) as error:
        raise JwksError(f"unreadable JWK Set ({type(error).__name__})") from error
    if not keys:
        raise JwksError("JWK Set has no usable signing keys")
    return keys


@dataclass
class _FileEntry:
    keys: tuple[Key, ...]
    stamp: tuple[int, int]  # (mtime_ns, size) of the file these keys were read from
    checked_at: float


class JwksCache:
    """Keys per source. URLs are cached for `ttl` seconds; a file is read once. Either is
    looked at again when an unknown kid shows up, at most once per `min_refetch` seconds per
    source (a replaced file is re-read; a URL is refetched)."""

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        clock: Callable[[], float],
        *,
        ttl: float = 600.0,
        min_refetch: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._timeout = timeout
        self._files: dict[str, _FileEntry] = {}
        self._urls: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def from_file(self, path: str, kid: str | None = None) -> tuple[Key, ...]:
        """Keys in the JWKS file at `path`; raises JwksError when it cannot be read."""
        entry = self._files.get(path)
        now = self._clock()
        if entry is not None and (
            kid is None
            or any(key.kid == kid for key in entry.keys)
            or now - entry.checked_at < self._min_refetch
        ):
            return entry.keys
        try:
            stat = Path(path).stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if entry is not None and stamp == entry.stamp:
                entry.checked_at = now
                return entry.keys
            keys = parse_jwks(Path(path).read_bytes())
        except (OSError, JwksError) as error:
            if entry is None:
                if isinstance(error, JwksError):
                    raise
                raise JwksError(f"cannot read JWKS file ({type(error).__name__})") from error
            # A file caught half-written keeps the keys it had until it reads well again.
            logger.warning("jwks file reload failed: error=%s", type(error).__name__)
            entry.checked_at = now
            return entry.keys
        self._files[path] = _FileEntry(keys, stamp, now)
        return keys

    async def from_url(self, url: str, kid: str | None) -> tuple[Key, ...]:
        """Keys served at `url`; raises JwksError when none are available."""
        entry = self._urls.get(url)
        if self._needs_fetch(entry, kid):
            lock = self._locks.setdefault(url, asyncio.Lock())
            async with lock:
                # Another task may have fetched while this one waited.
                entry = self._urls.get(url)
                if self._needs_fetch(entry, kid):
                    entry = await self._fetch(url, entry)
        if entry is None or not entry.keys:
            raise JwksError("JWK Set unavailable")
        return entry.keys

    def _needs_fetch(self, entry: _Entry | None, kid: str | None) -> bool:
        if entry is None:
            return True
        now = self._clock()
        if now - entry.attempted_at < self._min_refetch:
            return False
        if now - entry.fetched_at >= self._ttl:
            return True
        return kid is not None and all(key.kid != kid for key in entry.keys)

    async def _fetch(self, url: str, previous: _Entry | None) -> _Entry:
        now = self._clock()
        try:
            keys = parse_jwks(await self._get(url))
        except JwksError as error:
            # Keep serving the keys we had: a flaky JWKS host should not lock clients out.
            logger.warning("jwks fetch failed: url=%s error=%s", url, error)
            stale = previous.keys if previous else ()
            fetched = previous.fetched_at if previous else -math.inf
            entry = _Entry(stale, fetched, now)
        else:
            entry = _Entry(keys, now, now)
        self._urls[url] = entry
        return entry

    async def _get(self, url: str) -> bytes:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)
        request = self._http.build_request(
            "GET", url, headers={"Accept": "application/json"}, timeout=self._timeout
        )
        try:
            response = await self._http.send(request, stream=True, follow_redirects=False)
            try:
                if response.status_code != 200:
                    raise JwksError(f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise JwksError("JWK Set too large")
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            raise JwksError(f"transport error ({type(error).__name__})") from error
        return bytes(body)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None
