"""Per-process resources shared by all requests: settings, HTTP client, verifier, store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httpx

from app.config import Settings
from app.feedback.store import FeedbackStore
from app.security.verify import CdsClient, JwtVerifier

_MAX_BASES = 64


@dataclass
class AppState:
    settings: Settings
    http: httpx.AsyncClient
    store: FeedbackStore
    verifier: JwtVerifier | None
    # Settings with public_base_url filled in, per request base URL (see settings_for).
    _by_base: dict[str, Settings] = field(default_factory=dict)

    def settings_for(self, base: str, fill: Callable[[Settings, str], Settings]) -> Settings:
        """``fill(settings, base)`` remembered per base URL: copying the settings on every call
        cost ~25 µs. Bounded, since the base comes from the caller's Host header."""
        found = self._by_base.get(base)
        if found is None:
            found = fill(self.settings, base)
            if len(self._by_base) < _MAX_BASES:
                self._by_base[base] = found
        return found

    def allowed_fhir_servers(self, client: CdsClient | None) -> Sequence[str] | None:
        """FHIR servers this caller may name: its issuer's list, else the global one, else any."""
        if client is not None:
            return client.fhir_servers
        return self.settings.allowed_fhir_servers or None
