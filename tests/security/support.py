"""Constants, a settable clock and a Settings builder shared by the security tests."""

from __future__ import annotations

from typing import Any

from app.config import Settings, TrustedIssuer

AUD = "https://cds.example.org/cds-services/benzo-safety"
NOW = 1_800_000_000.0
URL_ISS = "https://cerner.example.com"
URL_JWKS = "https://auth.cerner.example.com/jwk"
JKU_ISS = "https://sandbox.cds-hooks.example.org"
JKU_OK = "https://sandbox.cds-hooks.example.org/.well-known/jwks.json"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def settings_for(*issuers: TrustedIssuer, **overrides: Any) -> Settings:
    return Settings(_env_file=None, trusted_issuers=list(issuers), **overrides)  # type: ignore[call-arg]
