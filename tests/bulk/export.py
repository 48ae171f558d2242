"""A generated Bulk FHIR export with the mess real ones have, and what it should read as."""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.bulk_export import TYPES, make

# Patients drawn from bench/data.py: every one of the `all` mix takes a benzodiazepine, an opioid
# and another CNS drug, so nearly every rule has something to say.
PATIENTS = 40
SEED = 1723


@dataclass
class MessyExport:
    folder: Path
    patients: dict[str, Any]  # patient id -> SyntheticPatient as generated
    medication_ref_patient: str  # whose benzodiazepine order names a Medication resource
    orphan_patient: str  # has orders but no Patient resource
    malformed_lines: int
    without_subject: int
    other_type_lines: int


def _line(resource: dict[str, Any]) -> bytes:
    return orjson.dumps(resource) + b"\n"


def write_messy_export(folder: Path, patients: int = PATIENTS, mix: str = "all") -> MessyExport:
    """Two files per type, shuffled across and within files, half gzip, with bad lines."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    made = {p.patient_id: p for p in (make(i, SEED, mix) for i in range(patients))}
    ids = sorted(made)
    by_type: dict[str, list[bytes]] = {kind: [] for kind in (*TYPES, "Medication")}

    # One order points at a Medication resource instead of carrying its code inline.
    ref_patient = made[ids[0]]
    order = ref_patient.medications[0]
    by_type["Medication"].append(
        _line(
            {
                "resourceType": "Medication",
                "id": "med-ref-1",
                "code": order["medicationCodeableConcept"],
            }
        )
    )
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/med-ref-1"}
    # A subject with its display first: the byte search misses it, the full parse does not.
    made[ids[1]].conditions[0]["subject"] = {"display": "someone", "reference": f"Patient/{ids[1]}"}

    orphan = made[ids[-1]]
    for patient in made.values():
        for kind in TYPES:
            if kind == "Patient" and patient is orphan:
                continue
            by_type[kind] += [_line(r) for r in patient.resources(kind)]

    by_type["Condition"].append(b'{"resourceType":"Condition","id":"no-subject","code":{}}\n')
    by_type["MedicationRequest"].append(b'{"resourceType":"MedicationRequest","id":"broken",\n')
    by_type["ServiceRequest"].append(b"not json at all\n")
    by_type["CarePlan"].append(
        b'{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/'
        + ids[2].encode()
        + b'"}}\n'
    )
    (folder / "Observation.ndjson").write_bytes(b'{"resourceType":"Observation","id":"x"}\n')

    for kind, lines in by_type.items():
        rng.shuffle(lines)  # out of order: a patient's resources are spread everywhere
        half = len(lines) // 2
        for part, chunk in ((1, lines[:half]), (2, lines[half:])):
            if part == 2 or kind == "Medication":
                (folder / f"{kind}.{part}.ndjson.gz").write_bytes(
                    gzip.compress(b"".join(chunk) + b"\n")
                )
            else:
                (folder / f"{kind}.{part}.ndjson").write_bytes(b"".join(chunk))
    return MessyExport(
        folder,
        made,
        ref_patient.patient_id,
        orphan.patient_id,
        malformed_lines=2,
        without_subject=1,
        other_type_lines=1,
    )
