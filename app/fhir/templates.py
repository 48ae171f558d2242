"""Render CDS Hooks 2.0 prefetch templates for the service's own fallback fetches."""

from __future__ import annotations

import re
from urllib.parse import quote

from app.models.hooks import BaseContext

_TOKEN = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9.]*)\s*\}\}")

# CDS Hooks 2.0 user tokens: the bare id of context.userId when it is of that type.
_USER_TOKENS = {
    "Practitioner": "userPractitionerId",
    "PractitionerRole": "userPractitionerRoleId",
    "Patient": "userPatientId",
    "RelatedPerson": "userRelatedPersonId",
}


class TemplateError(ValueError):
    """A template needs a token the request did not supply, or renders to an unsafe path."""


def token_values(context: BaseContext) -> dict[str, str]:
    """Tokens a template may use: root-level primitive context fields and the user tokens."""
    values: dict[str, str] = {}
    for name, value in context.model_dump(exclude_none=True).items():
        if isinstance(value, bool):
            values[f"context.{name}"] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            values[f"context.{name}"] = str(value)
    parts = context.userId.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] in _USER_TOKENS:
        values[_USER_TOKENS[parts[-2]]] = parts[-1]
    return values


def render(template: str, values: dict[str, str]) -> str:
    """Fill the tokens, percent-encoding values so they cannot add path segments or parameters."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"the template needs {{{{{name}}}}}, which the request lacks")
        # context.userId is a reference ("Practitioner/abc"), so its slash is kept.
        return quote(values[name], safe="/" if name == "context.userId" else "")

    rendered = _TOKEN.sub(substitute, template)
    path = rendered.split("?", 1)[0]
    if any(segment in (".", "..") for segment in path.split("/")) or "://" in path:
        raise TemplateError("the rendered template is not a relative FHIR URL")
    return rendered


def resource_type(template: str) -> str:
    """The FHIR type a template reads or searches ('Patient/{{..}}' -> 'Patient')."""
    return re.split(r"[/?]", template.lstrip("/"), maxsplit=1)[0]


def is_read(template: str) -> bool:
    """An instance read (Type/id) rather than a search (Type?...)."""
    path = template.lstrip("/").split("?", 1)[0]
    return "/" in path


def describe(template: str) -> str:
    """Name the data a template fetches, for error messages (no ids, no tokens)."""
    kind = resource_type(template)
    if is_read(template):
        return f"the {kind} resource" + (" (needed for age)" if kind == "Patient" else "")
    if "context.patientId" in template:
        return f"{kind} for the patient"
    return f"{kind} search"
