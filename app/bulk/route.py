"""Which patient each NDJSON line belongs to, and what was read and left out.

Both engines route lines with these functions (app/bulk/partition.py locally, app/bulk/spark.py
on Spark), so they keep and skip exactly the same lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from app.bulk.files import READ_TYPES
from app.fhir.bundles import patient_ids

_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR id
_ID_BYTES = re.compile(rb"[A-Za-z0-9\-.]{1,64}")
_SUBJECT = b'"subject":{"reference":"Patient/'
# Types whose lines name their patient in `subject` (a Patient is its own; a Medication has none).
QUICK_TYPES = frozenset(READ_TYPES) - {"Patient", "Medication"}


@dataclass
class ReadStats:
    """What was read and what was left out, by count only (no patient data)."""

    lines: int = 0
    # Resources evaluated, by type (counted as patients are evaluated; Medication when indexed)
    resources: Counter[str] = field(default_factory=Counter)
    malformed: int = 0  # not JSON, or not an object with a resourceType
    without_patient: Counter[str] = field(default_factory=Counter)  # no usable patient ref
    other_types: Counter[str] = field(default_factory=Counter)  # types the pipeline reads not
    no_patient_resource: int = 0  # patients with resources but no Patient (not evaluated)
    # Patients whose evaluation raised, by exception type and code line (a bug to report)
    failed: Counter[str] = field(default_factory=Counter)

    def merge(self, other: ReadStats) -> ReadStats:
        self.lines += other.lines
        self.resources.update(other.resources)
        self.malformed += other.malformed
        self.without_patient.update(other.without_patient)
        self.other_types.update(other.other_types)
        self.no_patient_resource += other.no_patient_resource
        self.failed.update(other.failed)
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "resources": dict(sorted(self.resources.items())),
            "malformed_lines": self.malformed,
            "without_patient": dict(sorted(self.without_patient.items())),
            "other_types": dict(sorted(self.other_types.items())),
            "without_patient_resource": self.no_patient_resource,
            "failed_patients": dict(sorted(self.failed.items())),
        }


def type_label(kind: str) -> str:
    """A resource type as counted: a type-like word, else 'unknown' (never free text)."""
    return kind if kind.isalpha() and len(kind) <= 40 else "unknown"


def quick_patient(line: bytes) -> bytes | None:
    """The patient id of a compact line whose only subject is ``{"reference":"Patient/<id>"``.

    Bulk exports write compact JSON, where this is nearly every line: finding it costs a few
    byte searches instead of a parse. A quote cannot appear unescaped inside a JSON string, so
    the match is a real key; with a second "subject" or a "patient" key, or contained resources
    (which have their own), the line takes the full parse instead.
    """
    start = line.find(_SUBJECT)
    if start < 0 or line.count(b'"subject"') != 1 or b'"patient"' in line or b'"contained"' in line:
        return None
    begin = start + len(_SUBJECT)
    end = line.find(b'"', begin)
    candidate = line[begin:end]
    return candidate if end > 0 and _ID_BYTES.fullmatch(candidate) else None


def quick_block(block: bytes) -> list[tuple[int, int, bytes | None]] | None:
    """(start, end, patient id or None) for each line of a block whose every line is compact
    JSON with one subject reference: `quick_patient`'s answers without its per-line scans.

    The scans `quick_patient` makes on each line (a second "subject", a "patient" key,
    contained resources) are made once over the block instead: with neither key in the block,
    and as many "subject" keys in it as lines (each line holds at least the one found), every
    line holds exactly one. None when that does not hold (or a line is not ``{...}``: blank,
    padded with spaces or \\r): the caller routes that block line by line. An id that is no
    FHIR id, or no closing quote, gives None for that line as `quick_patient` does.
    """
    if b'"patient"' in block or b'"contained"' in block:
        return None
    find, size, fullmatch = block.find, len(block), _ID_BYTES.fullmatch
    skip = len(_SUBJECT)
    found: list[tuple[int, int, bytes | None]] = []
    pos = 0
    while pos < size:
        end = find(b"\n", pos)
        if end < 0:
            end = size  # the file's last line, without its newline
        if block[pos] != 0x7B or block[end - 1] != 0x7D:  # "{" ... "}"
            return None
        begin = find(_SUBJECT, pos, end)
        if begin < 0:
            return None
        begin += skip
        close = find(b'"', begin, end)
        key = block[begin:close] if close > 0 else None
        found.append((pos, end, key if key is not None and fullmatch(key) else None))
        pos = end + 1
    return found if block.count(b'"subject"') == len(found) else None


def patient_key_of(resource: dict[str, Any], kind: str) -> str | None:
    """The one patient a resource belongs to: a Patient's id, else its subject/patient."""
    if kind == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and _ID.match(rid) else None
    ids = patient_ids(resource)
    return next(iter(ids)) if len(ids) == 1 else None


def route_parsed(line: bytes, stats: ReadStats) -> tuple[str, bytes] | None:
    """`route_line` by a full parse: for Patient and Medication lines, and any line the byte
    search could not place."""
    try:
        resource = orjson.loads(line)
    except orjson.JSONDecodeError:
        stats.malformed += 1
        return None
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str):
        stats.malformed += 1
        return None
    if kind not in READ_TYPES:
        stats.other_types[type_label(kind)] += 1
        return None
    if kind == "Medication":
        rid = resource.get("id")
        if isinstance(rid, str) and _ID.match(rid):
            stats.resources[kind] += 1
            return "m", rid.encode()
        stats.without_patient["Medication without id"] += 1
        return None
    patient = patient_key_of(resource, kind)
    if patient is None:
        stats.without_patient[kind] += 1
        return None
    return "p", patient.encode()


def route_line(line: bytes, file_type: str, stats: ReadStats) -> tuple[str, bytes] | None:
    """("p", patient id) or ("m", Medication id) for a line worth keeping; else counted, None.

    A line placed by `quick_patient` is parsed only when its patient is evaluated; one that
    turns out malformed or of another type is counted then (app/bulk/patient.py).
    """
    if file_type in QUICK_TYPES:
        found = quick_patient(line)
        if found is not None:
            return "p", found
    return route_parsed(line, stats)
