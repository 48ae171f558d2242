"""Generated Bulk FHIR exports (NDJSON per type) from bench/data.py's realistic patients.

`population` mix: a typical chart (20 orders, 15 conditions) where only some patients take a
benzodiazepine, an opioid or another CNS depressant, at about US adult prevalence: ~1 in 8
used a benzodiazepine in a year (Maust 2019, Psychiatr Serv 70:97), ~1 in 6 filled an opioid
prescription (CDC 2019 surveillance report: 17.4%), a few percent a gabapentinoid or other
sedative. `all` mix: bench/data.py's charts as they are, every patient on all three classes
(the worst case: nearly every rule fires for nearly every patient).

    python -m bench.bulk_export OUT --patients 10000 [--mix population|all] [--files 2] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import orjson

from bench.data import (
    DEFAULT_SEED,
    EVALUATION_DATE,
    TYPICAL,
    SyntheticPatient,
    load_catalog,
    make_patient,
    medication_request,
)

TYPES = ("Patient", "MedicationRequest", "Condition", "CarePlan", "ServiceRequest")
PREVALENCE = {"benzodiazepine": 0.12, "opioid": 0.17, "cns": 0.06}
_NAMESPACE = uuid.UUID("0c1d7a52-35a4-4b39-8d7e-7b1c2f0d9a11")


def patient_id(seed: int, index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{seed}:{index}"))


def _population(patient: SyntheticPatient, rng: random.Random) -> SyntheticPatient:
    """Keep each CNS class with its prevalence; other orders of a dropped class become non-CNS."""
    catalog = load_catalog()
    class_of = {d.code: cls for cls, drugs in catalog.drugs.items() for d in drugs}
    keep = {cls for cls, share in PREVALENCE.items() if rng.random() < share}
    meds = []
    for order in patient.medications:
        code = order["medicationCodeableConcept"]["coding"][0]["code"]
        cls = class_of.get(code, "other")
        if cls == "other" or cls in keep:
            meds.append(order)
            continue
        meds.append(
            medication_request(
                rng.choice(catalog.drugs["other"]),
                rid=order["id"],
                patient_id=patient.patient_id,
                status=order["status"],
                authored=EVALUATION_DATE.fromisoformat(order["authoredOn"]),
                rng=rng,
            )
        )
    patient.medications = meds
    age = rng.randint(18, 95)
    birth = EVALUATION_DATE - timedelta(days=365 * age + rng.randint(0, 364))
    patient.patient["birthDate"] = birth.isoformat()
    return patient


def make(index: int, seed: int, mix: str) -> SyntheticPatient:
    pid = patient_id(seed, index)
    patient = make_patient(TYPICAL, seed=seed * 1_000_003 + index, patient_id=pid)
    if mix == "population":
        patient = _population(patient, random.Random(f"{seed}:{index}:population"))
    return patient


def _open(path: Path, compress: bool) -> IO[bytes]:
    return gzip.open(path, "wb", compresslevel=1) if compress else path.open("wb")


def _resources(patient: SyntheticPatient) -> Iterator[tuple[str, dict[str, Any]]]:
    for kind in TYPES:
        for resource in patient.resources(kind):
            yield kind, resource


def write_part(out: Path, part: int, indexes: range, seed: int, mix: str, compress: bool) -> int:
    """Write one `Type.<part>.ndjson[.gz]` per type for the patients in `indexes`."""
    suffix = ".ndjson.gz" if compress else ".ndjson"
    handles = {kind: _open(out / f"{kind}.{part}{suffix}", compress) for kind in TYPES}
    try:
        for index in indexes:
            for kind, resource in _resources(make(index, seed, mix)):
                handles[kind].write(orjson.dumps(resource) + b"\n")
    finally:
        for handle in handles.values():
            handle.close()
    return len(indexes)


def _part(args: tuple[Path, int, range, int, str, bool]) -> int:
    return write_part(*args)


def write_export(
    out: Path,
    patients: int,
    *,
    seed: int = DEFAULT_SEED,
    mix: str = "population",
    files: int = 2,
    compress: bool = False,
    jobs: int | None = None,
) -> Path:
    """An export of `patients` patients in `files` files per type, written in parallel."""
    out.mkdir(parents=True, exist_ok=True)
    step = -(-patients // files)
    parts = [
        (out, part + 1, range(part * step, min(patients, (part + 1) * step)), seed, mix, compress)
        for part in range(files)
    ]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pool.map(_part, parts)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--mix", choices=["population", "all"], default="population")
    parser.add_argument("--files", type=int, default=2, help="files per resource type")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    write_export(
        args.out, args.patients, seed=args.seed, mix=args.mix, files=args.files, compress=args.gzip
    )
    print(f"wrote {args.patients} patients to {args.out}")


if __name__ == "__main__":
    main()
