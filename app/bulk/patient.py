"""One patient of an export through the hook's pure pipeline, as one flat result row.

Gathered -> build_record -> rules, exactly as a patient-view call with full prefetch would
run them; every rule that is not off is evaluated (silent ones too: the dry run is how a
committee learns what a rule would do). The row holds no name or raw id: the patient column
is the keyed hash the feedback tables use, unless ids are revealed on purpose.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import orjson

from app.bulk import typed
from app.bulk.route import ReadStats, type_label
from app.cards import RULES, fire_rules
from app.cards.base import current_medications
from app.cards.opioid_overlap import RULE_ID as OVERLAP
from app.cards.opioid_overlap import daily_mme
from app.cards.verdicts import rule_verdicts
from app.config import Settings
from app.feedback.snooze import patient_key
from app.fhir.bundles import CLINICAL_DATE_FIELDS, latest_day, medication_reference
from app.fhir.gathered import Gathered
from app.normalize import build_record
from app.record import BZRA_CLASSES, DoseConfidence, DrugClass, MedicationUse, PatientRecord

HOOK = "patient-view"
_MEDICATION_REF = re.compile(r"(?:^|/)Medication/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_TARGETS = {
    "MedicationRequest": "medication_requests",
    "Condition": "conditions",
    "CarePlan": "care_plans",
    "ServiceRequest": "service_requests",
}
# Doses the report's confidence share covers: those the cards compute with (MME, diazepam-eq).
DOSE_CLASSES = BZRA_CLASSES | {DrugClass.OPIOID}
DOSE_COLUMNS = {
    DoseConfidence.EXACT: "doses_exact",
    DoseConfidence.RANGE: "doses_range",
    DoseConfidence.AS_NEEDED_MAX: "doses_as_needed_max",
    DoseConfidence.UNKNOWN: "doses_unknown",
}
_PROJECT = Path(__file__).resolve().parents[2]  # the folder that holds app/
AGE_BANDS = ("0-17", "18-44", "45-64", "65-74", "75-84", "85+", "unknown")
COLUMNS = (
    "patient",
    "as_of",
    "age",
    "age_band",
    "sex",
    "orders",
    "bzra_active",
    "opioid_active",
    *RULES,
    "cards",
    "mme_per_day",
    "mme_incomplete",
    "mme_upper_bound",
    "bzra_days",
    "drugs",
    *DOSE_COLUMNS.values(),
    "unreadable",
    "error",
)


class MedicationSource(Protocol):
    def get(self, rid: str) -> dict[str, Any] | None: ...


class NoMedications:
    def get(self, rid: str) -> dict[str, Any] | None:
        return None


@dataclass(frozen=True)
class RunOptions:
    """What every patient of one run shares."""

    settings: Settings
    date_arg: str = "latest"  # 'latest' (each patient's latest record), 'today', YYYY-MM-DD
    reveal_ids: bool = False
    # Rules give their verdicts without building cards (app/cards/verdicts.py). False: every
    # card is built in full as the hook does; the same rows, several times slower (for checks).
    shortcuts: bool = True
    # Lines decoded straight into the hook's typed structures and normalized by its typed fast
    # path (app/bulk/typed.py); a patient it does not fit takes the lenient route. False: every
    # patient takes the lenient route (orjson dicts, app.normalize.build_record).
    typed: bool = True


def age_band(age: int | None) -> str:
    if age is None:
        return "unknown"
    for band, upper in (("0-17", 17), ("18-44", 44), ("45-64", 64), ("65-74", 74), ("75-84", 84)):
        if age <= upper:
            return band
    return "85+"


def latest_date(resources: Iterable[dict[str, Any]]) -> date | None:
    """The latest clinical date among the resources (same fields as `evaluate` on bundles)."""
    return latest_day(r.get(name) for r in resources for name in CLINICAL_DATE_FIELDS)


def gathered_for(
    patient_id: str, resources: list[dict[str, Any]], medications: MedicationSource
) -> Gathered:
    """What the hook's gatherer would hand over for this patient with full prefetch."""
    gathered = Gathered(patient_id=patient_id, hook=HOOK)
    seen: set[tuple[str, str]] = set()
    for resource in resources:
        kind = resource["resourceType"]
        if kind == "Patient":
            if gathered.patient is None:
                gathered.patient = resource
            else:
                gathered.skip("duplicate-resource")
            continue
        rid = resource.get("id")
        # As the hook's gatherer (app/fhir/routing.py): only a string id can repeat a resource.
        if isinstance(rid, str):
            if (kind, rid) in seen:
                gathered.skip("duplicate-resource")  # an export may repeat a resource
                continue
            seen.add((kind, rid))
        getattr(gathered, _TARGETS[kind]).append(resource)
    for order in gathered.medication_requests:
        if "medicationReference" not in order:  # most orders carry their code inline
            continue
        ref = medication_reference(order)
        match = _MEDICATION_REF.search(ref) if ref and not ref.startswith("#") else None
        if ref and match:  # match implies ref; said for the type checker
            found = medications.get(match.group(1))
            if found is not None:
                gathered.medications[ref] = gathered.medications[f"Medication/{match.group(1)}"] = (
                    found
                )
    return gathered


def _course_days(med: MedicationUse, today: date) -> int | None:
    """Days since the first day of the episode (renewals across gaps of at most
    settings.renewal_gap_days, app/normalize/episodes.py) that `med` belongs to: the span the
    taper-plan rule judges long-term use by."""
    since = med.episode_start or med.start
    return None if since is None else max(0, (today - since).days)


def when(resources: list[dict[str, Any]], options: RunOptions) -> date:
    if options.date_arg == "latest":
        return latest_date(resources) or options.settings.today()
    if options.date_arg == "today":
        return options.settings.today()
    return date.fromisoformat(options.date_arg)


def parse_lines(lines: Iterable[bytes | str], stats: ReadStats) -> list[dict[str, Any]]:
    """The patient's resources of the types read; anything else is counted and left out."""
    resources = []
    for line in lines:
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError:
            stats.malformed += 1
            continue
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            stats.malformed += 1
        elif kind in _TARGETS or kind == "Patient":
            stats.resources[kind] += 1
            resources.append(resource)
        else:
            stats.other_types[type_label(kind)] += 1
    return resources


def evaluate_patient(
    patient_id: str,
    lines: Iterable[bytes | str],
    medications: MedicationSource,
    options: RunOptions,
    stats: ReadStats | None = None,
) -> dict[str, Any] | None:
    """The result row for one patient's NDJSON lines; None when no Patient resource came."""
    stats = stats if stats is not None else ReadStats()
    if options.typed:
        lines = lines if isinstance(lines, list | tuple) else list(lines)  # read twice at most
        try:
            read = typed.read_patient(
                patient_id, HOOK, lines, medications, options.date_arg, options.settings
            )
        except Exception:  # NotFast, or anything odd: the lenient route reads it (and reports
            read = None  # any error of its own as it always has)
        if read is not None:
            stats.resources.update(read.resources)
            if read.record is None or read.as_of is None:
                stats.no_patient_resource += 1
                return None
            return _row(patient_id, read.record, read.sex, read.as_of, options)
    resources = parse_lines(lines, stats)
    gathered = gathered_for(patient_id, resources, medications)
    if gathered.patient is None:
        stats.no_patient_resource += 1  # the hook answers 412 without a Patient
        return None
    as_of = when(resources, options)
    record = build_record(gathered, today=as_of, settings=options.settings)
    return _row(patient_id, record, gathered.patient.get("gender"), as_of, options)


def _row(
    patient_id: str, record: PatientRecord, sex: Any, as_of: date, options: RunOptions
) -> dict[str, Any]:
    """The CSV row of a normalized patient (whichever route read it)."""
    settings = options.settings
    row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
    current = current_medications(record)
    bzras = [m for m in current if m.drug_class in BZRA_CLASSES and m.is_active]
    opioids = [m for m in current if m.drug_class is DrugClass.OPIOID and m.is_active]
    row.update(
        patient=_patient_column(patient_id, options),
        as_of=as_of.isoformat(),
        age="" if record.age is None else record.age,
        age_band=age_band(record.age),
        sex=sex if sex in ("female", "male", "other") else "unknown",
        orders=len(record.medications),
        bzra_active=len(bzras),
        opioid_active=len(opioids),
        unreadable=sum(record.skipped.values()),
    )
    fired = rule_verdicts(record, settings) if options.shortcuts else _cards(record, settings)
    row.update(fired)
    row["cards"] = len(fired)
    if opioids or row[OVERLAP]:
        mme = daily_mme(record)
        row["mme_per_day"] = round(mme.total, 3)  # as precise as the card states it
        row["mme_incomplete"] = "yes" if mme.unknown else "no"
        row["mme_upper_bound"] = "yes" if mme.upper_bound else "no"
    courses = [d for d in (_course_days(m, record.evaluated_on) for m in bzras) if d is not None]
    row["bzra_days"] = max(courses) if courses else ""
    row["drugs"] = ";".join(
        sorted(
            {
                m.ingredient or m.name.lower()
                for m in current
                if m.drug_class not in (DrugClass.OTHER, DrugClass.RESCUE_NALOXONE)
            }
        )
    )
    for column in DOSE_COLUMNS.values():
        row[column] = 0
    for med in current:
        if med.drug_class in DOSE_CLASSES:
            row[DOSE_COLUMNS[med.dose_confidence]] += 1
    return row


def _cards(record: PatientRecord, settings: Settings) -> dict[str, str]:
    """Rule id -> indicator from the cards themselves, built in full as the hook builds them
    (the straightforward path that `rule_verdicts` is checked against)."""
    firings = fire_rules(record, settings)
    return {
        card.source.topic.code: card.indicator
        for card in firings.shown + firings.silent
        if card.source.topic is not None
    }


def _patient_column(patient_id: str, options: RunOptions) -> str:
    return patient_id if options.reveal_ids else patient_key(options.settings, patient_id)


def failure_site(error: BaseException) -> str:
    """The exception type and the innermost line of this project's code it passed through,
    never its message: a message may quote patient data (a date, an id, a dose)."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(_PROJECT / "app")]
    if not (ours or frames):
        return type(error).__name__
    frame = (ours or frames)[-1]
    where = Path(frame.filename).resolve()
    shown = where.relative_to(_PROJECT) if where.is_relative_to(_PROJECT) else where.name
    return f"{type(error).__name__} at {shown}:{frame.lineno}"


def evaluate_or_report(
    patient_id: str,
    lines: Iterable[bytes | str],
    medications: MedicationSource,
    options: RunOptions,
    stats: ReadStats,
) -> dict[str, Any] | None:
    """`evaluate_patient`, where a patient that raises becomes a row naming where it failed.

    A population run takes hours and a bug may hit one chart in 100,000: the run goes on,
    the failure is counted by code line (ReadStats.failed) and the CLI exits 1 saying so.
    """
    try:
        return evaluate_patient(patient_id, lines, medications, options, stats)
    except Exception as error:  # any bug in one patient: counted and reported, not hidden
        site = failure_site(error)
        stats.failed[site] += 1
        row = dict.fromkeys(COLUMNS, "")
        row.update(patient=_patient_column(patient_id, options), error=site)
        return row


def evaluate_rows(
    groups: Mapping[str, list[bytes]],
    medications: MedicationSource,
    options: RunOptions,
    stats: ReadStats,
) -> Iterator[dict[str, Any]]:
    """Rows for every patient of a group, by patient id; what was read and left out goes
    into `stats`."""
    for patient_id in sorted(groups):
        row = evaluate_or_report(patient_id, groups[patient_id], medications, options, stats)
        if row is not None:
            yield row
