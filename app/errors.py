"""Domain errors and their one mapping to HTTP responses.

Error bodies are FHIR OperationOutcome resources (the CDS Hooks 3.0 ballot's advice for
non-2xx answers): never a stack trace, never patient data.

* CdsError
  + InvalidRequest (400)       the envelope or its resources could not be read
  + Unauthorized (401)         the client's JWT failed verification (no detail given;
                               WWW-Authenticate: Bearer per RFC 6750)
  + ServiceNotFound (404)      no such service id
  + PayloadTooLarge (413)      body over the configured cap
  + PreconditionFailed (412)   data a rule needs could not be had (CDS Hooks 2.0 SHALL)
  + ServiceUnavailable (503)   a dependency (the database) is down; retry after a while
"""

from __future__ import annotations

from typing import Any


class CdsError(Exception):
    status_code = 500
    issue_code = "exception"

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        issues = [{"severity": "error", "code": self.issue_code, "diagnostics": self.message}]
        issues += [
            {"severity": "error", "code": self.issue_code, "diagnostics": d} for d in self.details
        ]
        return {"resourceType": "OperationOutcome", "issue": issues}


class InvalidRequest(CdsError):
    status_code = 400
    issue_code = "invalid"


class Unauthorized(CdsError):
    status_code = 401
    issue_code = "security"

    def __init__(self, reason: str = "unauthorized") -> None:
        # The reason is for our log only; the client gets a fixed message.
        super().__init__("Unauthorized")
        self.reason = reason
        # The token's unverified issuer, cut short, when one was read: logged once by the
        # error handler, never sent to the client.
        self.iss: str | None = None

    def challenge(self) -> str:
        """The WWW-Authenticate value (RFC 6750 section 3), the same for every bad token."""
        if self.reason in ("missing-authorization", "bad-scheme"):
            # No bearer credentials at all: section 3.1 says no error code then.
            return 'Bearer realm="benzo-safety-cds"'
        return 'Bearer realm="benzo-safety-cds", error="invalid_token"'


class ServiceNotFound(CdsError):
    status_code = 404
    issue_code = "not-found"


class PayloadTooLarge(CdsError):
    status_code = 413
    issue_code = "too-costly"


class PreconditionFailed(CdsError):
    status_code = 412
    issue_code = "incomplete"


class ServiceUnavailable(CdsError):
    status_code = 503
    issue_code = "transient"

    def __init__(self, message: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}
