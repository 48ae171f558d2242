"""CDS Hooks 2.0 request models: lenient about extras, strict about what the spec requires."""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.errors import InvalidRequest
from app.models.urls import RequestableUrl

# order-select selections and similar references: "Type/id" (CDS Hooks library invariant ord-1,
# relaxed to the FHIR id alphabet).
_TYPED_REF = re.compile(r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Lenient):
    access_token: str = Field(min_length=1)
    token_type: str
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("token_type must be 'Bearer'")
        return value


class BaseContext(_Lenient):
    userId: str = Field(min_length=1)
    patientId: str = Field(min_length=1, max_length=64)
    encounterId: str | None = None


class DraftOrdersBundle(_Lenient):
    """A Bundle of draft orders; `type` is optional because the spec's examples omit it."""

    resourceType: str
    entry: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("resourceType")
    @classmethod
    def _is_bundle(cls, value: str) -> str:
        if value != "Bundle":
            raise ValueError("draftOrders must be a FHIR Bundle")
        return value

    @field_validator("entry", mode="before")
    @classmethod
    def _entries_are_objects(cls, value: Any) -> Any:
        if isinstance(value, list) and not all(isinstance(e, dict) for e in value):
            raise ValueError("every Bundle.entry must be an object")
        return value

    def resources(self) -> list[dict[str, Any]]:
        """Entry resources that are FHIR resource objects (a string resourceType); the rest
        are counted as entries without a resource by the gatherer."""
        return [
            e["resource"]
            for e in self.entry
            if isinstance(e.get("resource"), dict)
            and isinstance(e["resource"].get("resourceType"), str)
        ]


class PatientViewContext(BaseContext):
    pass


class OrderSignContext(BaseContext):
    draftOrders: DraftOrdersBundle


class OrderSelectContext(OrderSignContext):
    selections: list[str] = Field(min_length=1)

    @field_validator("selections")
    @classmethod
    def _typed_refs(cls, value: list[str]) -> list[str]:
        bad = [s for s in value if not _TYPED_REF.match(s)]
        if bad:
            # Positions only: the values are the caller's data and are not echoed back.
            positions = [i for i, v in enumerate(value) if v in bad][:5]
            raise ValueError(f"selections must be 'Type/id' references (bad at {positions})")
        return value


CONTEXT_MODELS: dict[str, type[BaseContext]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


class HookRequest(_Lenient):
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1, max_length=128)
    fhirServer: RequestableUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_token(self) -> HookRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is sent (cds-r-1)")
        return self


def _describe(error: ValidationError, prefix: str = "") -> list[str]:
    """Turn pydantic errors into short 'field: problem' lines without echoing input values."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        lines.append(f"{prefix}{where}: {item['msg']}")
    return lines


def parse_json(raw: bytes) -> Any:
    """The parsed body, or 400 saying where it stops being JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(
            f"The request body is not valid JSON ({error.msg} at byte {error.pos})."
        ) from None


def parse_hook_request(body: Any, expected_hook: str) -> tuple[HookRequest, BaseContext]:
    """Validate a hook call's envelope and its hook-specific context, or raise InvalidRequest."""
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        request = HookRequest.model_validate(body)
    except ValidationError as error:
        raise InvalidRequest(
            "The CDS Hooks request is malformed.", details=_describe(error)
        ) from None
    if request.hook != expected_hook:
        raise InvalidRequest(
            f"This service answers the '{expected_hook}' hook, not '{request.hook[:40]}'."
        )
    try:
        context = CONTEXT_MODELS[expected_hook].model_validate(request.context)
    except ValidationError as error:
        raise InvalidRequest(
            f"The {expected_hook} context is malformed.", details=_describe(error, "context.")
        ) from None
    return request, context
