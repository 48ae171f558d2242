"""Small, lenient accessors for FHIR JSON shapes (CodeableConcept, Reference, lists)."""

from __future__ import annotations

from typing import Any

from app.normalize.errors import Malformed

Coding = tuple[str | None, str | None, str | None]

RXNORM_SYSTEMS = frozenset(
    {"http://www.nlm.nih.gov/research/umls/rxnorm", "urn:oid:2.16.840.1.113883.6.88"}
)


def as_list(value: Any) -> list[Any]:
    """A FHIR repeating element as a list (a lone object is accepted, as some servers send it)."""
    if type(value) is list:
        return value
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    raise Malformed("expected a list")


def as_dict(value: Any) -> dict[str, Any] | None:
    if type(value) is dict or value is None:
        return value
    if not isinstance(value, dict):
        raise Malformed("expected an object")
    return value


def opt_str(value: Any) -> str | None:
    """A string element; numbers are tolerated (codes sent as 123), anything else is malformed."""
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Malformed("expected a string")


def codings(concept: Any) -> tuple[Coding, ...]:
    """(system, code, display) triples of a CodeableConcept (or a bare Coding)."""
    cc = as_dict(concept)
    if cc is None:
        return ()
    raw = cc.get("coding")
    if raw is None and ("code" in cc or "system" in cc):
        raw = [cc]  # a Coding where a CodeableConcept was expected
    out = []
    for item in as_list(raw):
        coding = as_dict(item)
        if coding is None:
            continue
        out.append(
            (
                opt_str(coding.get("system")),
                opt_str(coding.get("code")),
                opt_str(coding.get("display")),
            )
        )
    return tuple(out)


def concept_text(concept: Any) -> str | None:
    cc = as_dict(concept)
    return None if cc is None else opt_str(cc.get("text"))


def concept_name(concept: Any) -> str | None:
    """The most readable label of a CodeableConcept: text, then a display, then a code."""
    text = concept_text(concept)
    if text:
        return text
    triples = codings(concept)
    for _, _, display in triples:
        if display:
            return display
    for _, code, _ in triples:
        if code:
            return code
    return None


def code_strings(triples: tuple[Coding, ...]) -> tuple[str, ...]:
    return tuple(f"{system or ''}|{code}" for system, code, _ in triples if code)


def reference(value: Any) -> str | None:
    ref = as_dict(value)
    return None if ref is None else opt_str(ref.get("reference"))


def local_ref(ref: str, resource_type: str) -> str | None:
    """ "Type/id" from a relative, absolute or versioned reference to ``resource_type``."""
    parts = ref.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == resource_type:
        return f"{resource_type}/{parts[-1]}"
    return None


def status_code(value: Any) -> str | None:
    """A status that may be a code string or (R4 Condition) a CodeableConcept; lower-case."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() or None
    if type(value) is dict:
        # The usual shape, {"coding": [{"system": ..., "code": "active"}]}, read directly.
        first = value.get("coding")
        first = first[0] if type(first) is list and first else None
        code = first.get("code") if type(first) is dict else None
        if type(code) is str and code.strip():
            return code.strip().lower()
    for _, code, _ in codings(value):
        if code:
            return code.lower()
    text = concept_text(value)
    return text.lower() if text else None


def resource_id(resource: dict[str, Any]) -> str:
    rid = opt_str(resource.get("id"))
    if not rid:
        raise Malformed("no id")
    return rid
