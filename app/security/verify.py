"""Verification of the CDS Client's JWT (CDS Hooks 2.0 "Trusting CDS Clients").

Every failure raises ``Unauthorized(reason)``: the reason is a short machine string for our
log; the client only ever sees a bare 401. Tokens are never logged; only reason and iss are.
Replay protection is per process unless a shared ``ReplayStore`` is passed (see
app/security/replay.py): multi-worker deployments need one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import Key

from app.config import Settings, TrustedIssuer
from app.errors import Unauthorized
from app.fhir.servers import is_allowed
from app.security.jwks import JwksCache, JwksError
from app.security.replay import InMemoryReplayStore, ReplayStore

logger = logging.getLogger("app.security")

# CDS Hooks 2.0: ES384 and RS384 RECOMMENDED; none and every symmetric (HMAC) alg SHALL NOT.
ALLOWED_ALGS = frozenset({"ES384", "RS384", "ES256", "RS256"})
MAX_TOKEN_CHARS = 16 * 1024
MAX_JTI_CHARS = 512
_LOG_ISS_CHARS = 200

# Key selection is ours (by kid, from the issuer's own JWKS), so joserfc must not be strict
# about extra header members (Epic and others add some) nor about modest header sizes.
_REGISTRY = jws.JWSRegistry(algorithms=sorted(ALLOWED_ALGS), strict_check_header=False)
_REGISTRY.max_header_length = 2048
_REGISTRY.max_payload_length = 8192


@dataclass(frozen=True)
class CdsClient:
    """A verified caller: who it is and which FHIR servers it may send us to."""

    iss: str
    tenant: str | None
    jti: str
    fhir_servers: tuple[str, ...]


class JwtVerifier:
    """Verifies `Authorization: Bearer <JWT>` from trusted CDS Clients."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        *,
        replay_store: ReplayStore | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._issuers: dict[str, TrustedIssuer] = {i.iss: i for i in settings.trusted_issuers}
        self._jwks = JwksCache(
            http,
            clock,
            timeout=settings.fhir_timeout_seconds,
            ttl=settings.jwks_cache_seconds,
            min_refetch=settings.jwks_refresh_interval_seconds,
        )
        self._replay: ReplayStore = replay_store or InMemoryReplayStore()

    async def aclose(self) -> None:
        """Close the HTTP client if this verifier created it."""
        await self._jwks.aclose()

    async def verify(self, authorization: str | None, audience: str) -> CdsClient:
        """Return the verified client or raise Unauthorized(reason)."""
        iss: str | None = None
        try:
            token = _bearer_token(authorization)
            obj = _extract(token)
            header = obj.headers()
            alg = _check_header(header)
            claims = _claims(obj.payload)
            iss = claims.get("iss") if isinstance(claims.get("iss"), str) else None
            if iss is None:
                raise Unauthorized("missing-iss")
            issuer = self._issuers.get(iss)
            if issuer is None:
                raise Unauthorized("unknown-issuer")
            key = await self._select_key(issuer, header, alg)
            _check_signature(obj, key)
            now = self._clock()
            expires_at = self._check_claims(claims, audience, now)
            tenant = claims.get("tenant")
            if tenant is not None and not isinstance(tenant, str):
                raise Unauthorized("bad-tenant")
            jti: str = claims["jti"]
            if not await self._replay.add_if_new(iss, jti, expires_at, now):
                raise Unauthorized("replayed-jti")
            return CdsClient(
                iss=iss, tenant=tenant, jti=jti, fhir_servers=tuple(issuer.fhir_servers)
            )
        except Unauthorized as error:
            # iss is unverified here and may be attacker-made: cut short, and logged (quoted)
            # once, by the app's error handler, with the request's path.
            error.iss = iss[:_LOG_ISS_CHARS] if iss else None
            raise

    def fhir_server_allowed(self, client: CdsClient, fhir_server: str) -> bool:
        """True when `fhir_server` is one of the client's FHIR base URLs or under one."""
        return fhir_url_allowed(fhir_server, client.fhir_servers)

    async def _select_key(self, issuer: TrustedIssuer, header: dict[str, Any], alg: str) -> Key:
        """Configured keys first (they work offline); an allowlisted jku only for a kid they
        do not hold. An off-list jku is never fetched, and ignored when not needed."""
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized("bad-kid")
        jku = header.get("jku")
        if jku is not None and not isinstance(jku, str):
            raise Unauthorized("jku-not-allowed")
        keys, unavailable = await self._configured_keys(issuer, kid)
        if not _holds(keys, kid) and jku is not None and jku != issuer.jwks_url:
            # Only an exact allowlisted URL is ever fetched; anything else is refused unseen.
            if jku not in issuer.jku_allowlist:
                raise Unauthorized("jku-not-allowed")
            try:
                keys = await self._jwks.from_url(jku, kid)
            except JwksError as error:
                self._log_unavailable(issuer, error)
                raise Unauthorized("jwks-unavailable") from error
        elif not keys:
            # No configured key could be read, or the issuer is trusted only through jku.
            raise Unauthorized("jwks-unavailable" if unavailable else "missing-jku")
        return _pick_key(keys, kid, alg)

    async def _configured_keys(
        self, issuer: TrustedIssuer, kid: str | None
    ) -> tuple[tuple[Key, ...], bool]:
        """Keys from the issuer's jwks_file, then its jwks_url when the file lacks the kid;
        and whether a configured source could not be read."""
        keys: tuple[Key, ...] = ()
        unavailable = False
        if issuer.jwks_file:
            try:
                keys = self._jwks.from_file(issuer.jwks_file, kid)
            except JwksError as error:
                self._log_unavailable(issuer, error)
                unavailable = True
        if issuer.jwks_url and not _holds(keys, kid):
            try:
                keys += await self._jwks.from_url(issuer.jwks_url, kid)
            except JwksError as error:
                self._log_unavailable(issuer, error)
                unavailable = True
        return keys, unavailable

    @staticmethod
    def _log_unavailable(issuer: TrustedIssuer, error: JwksError) -> None:
        logger.warning("jwks unavailable: iss=%r error=%s", issuer.iss[:_LOG_ISS_CHARS], error)

    def _check_claims(self, claims: dict[str, Any], audience: str, now: float) -> float:
        """Check aud, times and jti; return when the jti may be forgotten."""
        s = self._settings
        leeway = s.jwt_leeway_seconds
        if not _audience_matches(claims.get("aud"), audience):
            raise Unauthorized("bad-audience")
        exp = _number(claims, "exp")
        iat = _number(claims, "iat")
        if now >= exp + leeway:
            raise Unauthorized("expired")
        if iat > now + leeway:
            raise Unauthorized("iat-in-future")
        if "nbf" in claims and _number(claims, "nbf") > now + leeway:
            raise Unauthorized("not-yet-valid")
        if exp - iat > s.jwt_max_lifetime_seconds:
            raise Unauthorized("lifetime-too-long")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Unauthorized("missing-jti")
        if len(jti) > MAX_JTI_CHARS:
            raise Unauthorized("bad-jti")
        return exp + leeway


def expected_audience(settings: Settings, request_url: str, path: str) -> str:
    """The `aud` this endpoint expects: "aud MUST be the URL of the endpoint invoked".

    `path` is the endpoint path relative to the service base (e.g. "/cds-services/x").
    Behind a proxy set public_base_url; the request's Host header is only a fallback.
    """
    if settings.public_base_url:
        base = settings.public_base_url.rstrip("/")
    else:
        parts = urlsplit(request_url)
        host = parts.netloc.rpartition("@")[2]  # never carry userinfo into the audience
        base = f"{parts.scheme}://{host}"
    return f"{base}/{path.lstrip('/')}"


def fhir_url_allowed(url: str, bases: Iterable[str]) -> bool:
    """True when `url` equals a base or lies under it (path-segment wise, same scheme,
    host and port); fails closed on an empty list and on odd URLs."""
    return is_allowed(url, list(bases))


def _bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthorized("missing-authorization")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthorized("bad-scheme")
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise Unauthorized("malformed")
    return token


def _extract(token: str) -> jws.CompactSignature:
    try:
        return jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
    except (JoseError, ValueError, TypeError, UnicodeError) as error:
        raise Unauthorized("malformed") from error


def _check_header(header: dict[str, Any]) -> str:
    alg = header.get("alg")
    # Checked before any key is touched: alg=none and HMAC never reach joserfc.
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        raise Unauthorized("bad-alg")
    typ = header.get("typ")
    # The spec fixes typ to "JWT"; a missing typ is tolerated, a different one is not.
    if typ is not None and (not isinstance(typ, str) or typ.upper() != "JWT"):
        raise Unauthorized("bad-typ")
    # We understand no critical extensions; an unencoded payload (b64=false) is not a JWT.
    if "crit" in header or "b64" in header:
        raise Unauthorized("bad-header")
    return alg


def _claims(payload: bytes | None) -> dict[str, Any]:
    try:
        claims = json.loads(payload or b"")
    except (ValueError, TypeError) as error:
        raise Unauthorized("malformed") from error
    if not isinstance(claims, dict):
        raise Unauthorized("malformed")
    return claims


def _holds(keys: tuple[Key, ...], kid: str | None) -> bool:
    """The keys can serve this kid (without a kid: when there is exactly one key)."""
    return len(keys) == 1 if kid is None else any(key.kid == kid for key in keys)


def _pick_key(keys: tuple[Key, ...], kid: str | None, alg: str) -> Key:
    if kid is None:
        if len(keys) != 1:
            raise Unauthorized("missing-kid")
        candidates = list(keys)
    else:
        candidates = [key for key in keys if key.kid == kid]
        if not candidates:
            raise Unauthorized("unknown-kid")
    kty = "EC" if alg.startswith("ES") else "RSA"
    for key in candidates:
        if key.key_type == kty and key.alg in (None, alg):
            return key
    raise Unauthorized("bad-key")


def _check_signature(obj: jws.CompactSignature, key: Key) -> None:
    try:
        valid = jws.validate_compact(obj, key, registry=_REGISTRY)
    except JoseError as error:
        # e.g. an ES384 token against a P-256 key
        raise Unauthorized("bad-key") from error
    if not valid:
        raise Unauthorized("bad-signature")


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise Unauthorized(f"missing-{name}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Unauthorized(f"bad-{name}")
    return float(value)


def _audience_matches(aud: Any, expected: str) -> bool:
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list):
        return False
    want = _strip_slash(expected)
    return any(isinstance(v, str) and _strip_slash(v) == want for v in values)


def _strip_slash(value: str) -> str:
    return value[:-1] if value.endswith("/") else value
