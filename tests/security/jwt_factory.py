"""Test helpers: signing keys, CDS Client JWTs and trusted issuers backed by a JWKS file.

Import as ``from tests.security.jwt_factory import ...`` (run pytest as ``python -m pytest``).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet, RSAKey
from joserfc.jws import JWSRegistry

from app.config import TrustedIssuer

_CURVES = {"ES256": "P-256", "ES384": "P-384"}


def generate_key(alg: str = "ES384", kid: str | None = None) -> Key:
    """A private signing key for `alg` (ES256/ES384 on the matching curve, RS* RSA 2048)."""
    parameters: dict[str, Any] = {"kid": kid or f"kid-{uuid.uuid4().hex[:12]}", "use": "sig"}
    if alg in _CURVES:
        return ECKey.generate_key(_CURVES[alg], parameters)  # type: ignore[arg-type]
    if alg.startswith(("RS", "PS")):
        return RSAKey.generate_key(2048, parameters)  # type: ignore[arg-type]
    raise ValueError(f"no key type for {alg}")


def public_jwks(*keys: Key) -> dict[str, Any]:
    """The public JWK Set for the given keys."""
    return dict(KeySet(list(keys)).as_dict(private=False))


def make_token(
    key: Key,
    *,
    alg: str,
    iss: str,
    aud: str | list[str],
    kid: str | None,
    jku: str | None = None,
    exp_delta: int = 300,
    iat_delta: int = 0,
    jti: str | None = None,
    extra: dict[str, Any] | None = None,
    now: float | None = None,
    header_extra: dict[str, Any] | None = None,
    omit: tuple[str, ...] = (),
) -> str:
    """A signed CDS Client JWT. `extra` adds or overrides claims, `omit` drops claims
    (e.g. ("jti",)); `kid=None` leaves kid out of the header."""
    t = int(time.time() if now is None else now)
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    if jku is not None:
        header["jku"] = jku
    header.update(header_extra or {})
    claims: dict[str, Any] = {
        "iss": iss,
        "aud": aud,
        "iat": t + iat_delta,
        "exp": t + exp_delta,
        "jti": jti or str(uuid.uuid4()),
    }
    claims.update(extra or {})
    for name in omit:
        claims.pop(name, None)
    return jwt.encode(header, claims, key, algorithms=[alg])


def _b64(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_raw(header: dict[str, Any], claims: dict[str, Any], key: Key, sign_alg: str) -> str:
    """Sign exactly `header` and `claims` with `sign_alg`, whatever the header says
    (for headers joserfc would refuse to produce: odd typ, crit, a lying alg)."""
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    signature = JWSRegistry.algorithms[sign_alg].sign(signing_input.encode(), key)
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def unsigned_token(claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    """A hand-made `alg: none` JWT (empty signature), which must always be refused."""
    return f"{_b64(header or {'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def claims_for(iss: str, aud: str | list[str], now: float, **extra: Any) -> dict[str, Any]:
    """A valid claim set (5-minute lifetime, fresh jti) for hand-built tokens."""
    t = int(now)
    return {"iss": iss, "aud": aud, "iat": t, "exp": t + 300, "jti": str(uuid.uuid4()), **extra}


@dataclass
class TestIssuer:
    """A CDS Client with its private key, and the TrustedIssuer entry that trusts it."""

    __test__ = False  # not a pytest test class

    iss: str
    key: Key
    alg: str
    trusted: TrustedIssuer
    jwks_path: Path | None = None
    extra_keys: list[Key] = field(default_factory=list)

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def token(self, aud: str | list[str], **kwargs: Any) -> str:
        """make_token with this issuer's key, alg, iss and kid filled in."""
        kwargs.setdefault("kid", self.kid)
        return make_token(self.key, alg=self.alg, iss=self.iss, aud=aud, **kwargs)

    def bearer(self, aud: str | list[str], **kwargs: Any) -> str:
        """An Authorization header value."""
        return f"Bearer {self.token(aud, **kwargs)}"


def make_file_issuer(
    directory: Path,
    iss: str = "https://ehr.example.org",
    *,
    alg: str = "ES384",
    key: Key | None = None,
    fhir_servers: list[str] | None = None,
    extra_keys: list[Key] | None = None,
) -> TestIssuer:
    """An issuer whose public JWKS is written to a file under `directory`."""
    key = key or generate_key(alg)
    extra = list(extra_keys or [])
    path = directory / f"jwks-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(public_jwks(key, *extra)), encoding="utf-8")
    trusted = TrustedIssuer(
        iss=iss, jwks_file=str(path), fhir_servers=fhir_servers or ["https://fhir.example.org/r4"]
    )
    return TestIssuer(iss=iss, key=key, alg=alg, trusted=trusted, jwks_path=path, extra_keys=extra)


def make_url_issuer(
    iss: str,
    jwks_url: str,
    *,
    alg: str = "RS384",
    key: Key | None = None,
    fhir_servers: list[str] | None = None,
) -> TestIssuer:
    """An issuer whose JWKS is served at `jwks_url` (mock it, e.g. with respx)."""
    key = key or generate_key(alg)
    trusted = TrustedIssuer(iss=iss, jwks_url=jwks_url, fhir_servers=fhir_servers or [])
    return TestIssuer(iss=iss, key=key, alg=alg, trusted=trusted)


def make_jku_issuer(
    iss: str,
    jku_allowlist: list[str],
    *,
    alg: str = "ES384",
    key: Key | None = None,
    fhir_servers: list[str] | None = None,
) -> TestIssuer:
    """An issuer trusted only through allowlisted `jku` header URLs."""
    key = key or generate_key(alg)
    trusted = TrustedIssuer(iss=iss, jku_allowlist=jku_allowlist, fhir_servers=fhir_servers or [])
    return TestIssuer(iss=iss, key=key, alg=alg, trusted=trusted)
