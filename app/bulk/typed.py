"""A dry-run patient's NDJSON lines -> PatientRecord by the hook's typed fast path.

Each line is decoded by msgspec straight into the typed resource structures of
app/normalize/typed (only the fields the readers use are built), gathered as
app/bulk/patient.py's `gathered_for` gathers dicts, and normalized by the typed
`build_record`. There is no orjson parse and no dict per field.

The route either gives what the lenient route (`parse_lines` -> `gathered_for` ->
`build_record`) gives for the same lines, or raises NotFast and the patient takes that route.
Where the two JSON parsers disagree, it steps aside before decoding:
- msgspec skips fields no reader declares without checking their UTF-8 (orjson refuses
  invalid UTF-8 anywhere), so a line that is not ASCII is checked by Python's strict decoder;
- orjson refuses a number past the float range (``1e400``, 309+ digits), which msgspec
  reads as inf in a skipped field: a line that may hold one (`huge_number`) goes the lenient
  way.
A line that is not JSON, not an object of the five types, or not in the schema's shapes makes
the whole patient NotFast: the lenient route counts and reports it as it always has.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec

from app.config import Settings
from app.fhir.bundles import CLINICAL_DATE_FIELDS, latest_day
from app.normalize.typed import NotFast
from app.normalize.typed import build_record as typed_record
from app.normalize.typed import schema as s
from app.record import PatientRecord

# orjson refuses a number past the float range: an exponent over 308 (3+ digits after "e" or
# "e+"; "e-400" reads as 0.0) or 309+ digits. To find one at C speed, digits become "0", "E"
# becomes "e", signs and whitespace go; a hit on "0e000" counts when the digits before it
# follow a ":", "," or "[" (a value, not "a1e234" in an id). A hit inside a string (":1e234"
# in a text) is a false alarm that only costs the lenient route.
_NUMBER_SHAPE = bytes(range(256)).translate(bytes.maketrans(b"0123456789E", b"0000000000e"))
_DROPPED = b"+- \t\r"  # not the newline between two lines
_LONG_DIGITS = b"0" * 100  # with a 2-digit exponent, 210+ digits overflow: 100 is on the safe side
_MEDICATION_REF = re.compile(r"(?:^|/)Medication/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


# The schema's structures, plus what the dry run reads beside the normalizer: the Patient's
# gender for the row, and every resource's dates for `--date latest` (app/bulk/patient.py
# reads them on any resource type, so each type declares the ones its schema leaves out).
class Patient(s.Patient, tag="Patient"):
    gender: Any = None
    authoredOn: Any = None
    onsetDateTime: Any = None
    recordedDate: Any = None
    created: Any = None


class MedicationRequest(s.MedicationRequest, tag="MedicationRequest"):
    onsetDateTime: Any = None
    recordedDate: Any = None
    created: Any = None


class Condition(s.Condition, tag="Condition"):
    authoredOn: Any = None
    created: Any = None


class CarePlan(s.CarePlan, tag="CarePlan"):
    authoredOn: Any = None
    onsetDateTime: Any = None
    recordedDate: Any = None


class ServiceRequest(s.ServiceRequest, tag="ServiceRequest"):
    onsetDateTime: Any = None
    recordedDate: Any = None
    created: Any = None


Resource = Patient | MedicationRequest | Condition | CarePlan | ServiceRequest
_DECODE = msgspec.json.Decoder(Resource).decode


@dataclass
class Chart:
    """What the typed build_record reads (app.normalize.typed.record.ChartData)."""

    patient_id: str
    hook: str
    patient: Patient | None = None
    medication_requests: list[s.MedicationRequest] = field(default_factory=list)
    conditions: list[s.Condition] = field(default_factory=list)
    care_plans: list[s.CarePlan] = field(default_factory=list)
    service_requests: list[s.ServiceRequest] = field(default_factory=list)
    medications: dict[str, s.Medication] = field(default_factory=dict)
    draft_orders: list[Any] = field(default_factory=list)
    selections: frozenset[str] = frozenset()
    skipped: dict[str, int] = field(default_factory=dict)

    def skip_duplicate(self) -> None:
        self.skipped["duplicate-resource"] = self.skipped.get("duplicate-resource", 0) + 1


@dataclass
class Reading:
    """A patient read the typed way: the record (None without a Patient resource, which the
    hook answers with 412), what the row reads beside it, and the resources by type."""

    record: PatientRecord | None
    sex: Any
    as_of: date | None
    resources: Counter[str]


def huge_number(raw: bytes) -> bool:
    """Whether the line may hold a number orjson refuses as out of range (see _NUMBER_SHAPE)."""
    shape = raw.translate(_NUMBER_SHAPE, _DROPPED)
    if _LONG_DIGITS in shape:
        return True
    at = shape.find(b"0e000")
    while at >= 0:
        before = at
        while before > 0 and shape[before] in b"0.":
            before -= 1
        if shape[before] in b":,[":
            return True
        at = shape.find(b"0e000", at + 1)
    return False


def decode_lines(lines: Sequence[bytes | str]) -> list[Any]:
    """Every line as a typed resource, or NotFast (see the module's docstring)."""
    raws = [line.encode() if isinstance(line, str) else line for line in lines]
    # The patient's lines checked at once (a call per line cost more than the scan): a UTF-8
    # sequence or a number cannot run across the newline between two lines.
    joined = b"\n".join(raws)
    if not joined.isascii():
        try:
            joined.decode()
        except UnicodeDecodeError:
            raise NotFast from None
    if huge_number(joined):
        raise NotFast
    try:
        return [_DECODE(raw) for raw in raws]
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        raise NotFast from None


def gather(patient_id: str, hook: str, resources: list[Any], medications: Any) -> Chart:
    """app.bulk.patient.gathered_for over typed resources."""
    chart = Chart(patient_id, hook)
    seen: set[tuple[type, str]] = set()
    targets: dict[type, list[Any]] = {
        MedicationRequest: chart.medication_requests,
        Condition: chart.conditions,
        CarePlan: chart.care_plans,
        ServiceRequest: chart.service_requests,
    }
    for resource in resources:
        kind = type(resource)
        if kind is Patient:
            if chart.patient is None:
                chart.patient = resource
            else:
                chart.skip_duplicate()
            continue
        if resource.id is not None:
            key = (kind, resource.id)
            if key in seen:
                chart.skip_duplicate()
                continue
            seen.add(key)
        targets[kind].append(resource)
    for order in chart.medication_requests:
        holder = order.medicationReference
        if holder is None or not isinstance(holder.reference, str):
            continue
        ref = holder.reference.strip()
        match = _MEDICATION_REF.search(ref) if ref and not ref.startswith("#") else None
        if match:
            found = medications.get(match.group(1))
            if found is not None:
                try:
                    typed = msgspec.convert(found, s.Medication)
                except msgspec.ValidationError:
                    raise NotFast from None
                chart.medications[ref] = chart.medications[f"Medication/{match.group(1)}"] = typed
    return chart


def latest_date(resources: list[Any]) -> date | None:
    """app.bulk.patient.latest_date over typed resources."""
    return latest_day(getattr(r, name) for r in resources for name in CLINICAL_DATE_FIELDS)


def read_patient(
    patient_id: str,
    hook: str,
    lines: Sequence[bytes | str],
    medications: Any,
    date_arg: str,
    settings: Settings,
) -> Reading:
    """The patient's record by the typed route, or NotFast."""
    resources = decode_lines(lines)
    counts = Counter(type(r).__name__ for r in resources)
    chart = gather(patient_id, hook, resources, medications)
    if chart.patient is None:
        return Reading(None, None, None, counts)
    if date_arg == "latest":
        as_of = latest_date(resources) or settings.today()
    elif date_arg == "today":
        as_of = settings.today()
    else:
        as_of = date.fromisoformat(date_arg)
    record = typed_record(chart, today=as_of, settings=settings)
    return Reading(record, chart.patient.gender, as_of, counts)
