"""Per-process resources shared by all requests: settings, HTTP client, verifier, store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from app.config import Settings
from app.feedback.store import FeedbackStore
from app.security import CdsClient, JwtVerifier


@dataclass
class AppState:
    settings: Settings
    http: httpx.AsyncClient
    store: FeedbackStore
    verifier: JwtVerifier | None

    def allowed_fhir_servers(self, client: CdsClient | None) -> Sequence[str] | None:
        """FHIR servers this caller may name: its issuer's list, else the global one, else any."""
        if client is not None:
            return client.fhir_servers
        return self.settings.allowed_fhir_servers or None
