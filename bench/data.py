"""Reproducible synthetic patients and CDS Hooks request bodies for the benchmark (seeded)."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[1]
# The service's own terminology: every RxNorm code it classifies, with the CDC value set it came
# from. The benchmark draws its drugs from it, so it needs nothing outside the project.
MEDICATIONS_FILE = ROOT / "app" / "terminology" / "data" / "medications.json"
CODES_FILE = Path(__file__).with_name("codes.json")

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
# The service is benchmarked with BENZO_CDS_EVALUATION_DATE set to this day, so the generated
# dates sit in the same "recent" window on every run.
EVALUATION_DATE = date(2026, 11, 23)
DEFAULT_SEED = 20261123

DrugClass = Literal["benzodiazepine", "opioid", "cns", "other"]
# The CDC opioid CDS R4 value set each CNS class is drawn from (as recorded per code in
# medications.json; a code in several sets is recorded under its first class).
VALUE_SETS: dict[DrugClass, str] = {
    "benzodiazepine": "benzodiazepine-medications",
    "opioid": "opioid-analgesics-with-ambulatory-misuse-potential",
    "cns": "cns-depressant-medications",
}
_MIN_PER_CLASS = 3
# Plain oral solid SCDs only: brand names carry "[Brand]", packs start with "{".
ORAL_SCD = re.compile(r"^[^\[{]* (Oral Tablet|Oral Capsule)$")


@dataclass(frozen=True)
class Drug:
    code: str
    display: str
    drug_class: DrugClass
    per_day: int = 1


@dataclass(frozen=True)
class PatientSize:
    name: str
    medications: int
    conditions: int
    care_plans: int
    service_requests: int


TYPICAL = PatientSize("typical", medications=20, conditions=15, care_plans=1, service_requests=2)
HEAVY = PatientSize("heavy", medications=100, conditions=50, care_plans=3, service_requests=5)
SIZES = {s.name: s for s in (TYPICAL, HEAVY)}


@dataclass(frozen=True)
class Catalog:
    drugs: dict[DrugClass, tuple[Drug, ...]]
    conditions: tuple[dict[str, str], ...]
    care_plans: tuple[dict[str, str], ...]
    service_requests: tuple[dict[str, str], ...]
    sources: dict[str, str]


def common_drugs(drugs: list[Drug], ingredients: list[str]) -> list[Drug]:
    """Keep commonly prescribed ingredients (the expansions also list rarities like meptazinol)."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, ingredients)) + r")\b")
    common = [d for d in drugs if pattern.search(d.display)]
    return common if len(common) >= _MIN_PER_CLASS else drugs


def _class_drugs(
    codes: dict[str, dict[str, Any]], drug_class: DrugClass, ingredients: list[str]
) -> list[Drug]:
    """Oral solid SCDs of one class from the service's terminology, in RxCUI order."""
    found = [
        Drug(code, entry["display"], drug_class)
        for code, entry in codes.items()
        if entry.get("valueset") == VALUE_SETS[drug_class]
        and ORAL_SCD.match(entry.get("display", ""))
    ]
    found.sort(key=lambda d: int(d.code) if d.code.isdigit() else 0)
    if len(found) < _MIN_PER_CLASS:
        raise ValueError(
            f"{MEDICATIONS_FILE.name} has fewer than {_MIN_PER_CLASS} oral "
            f"{drug_class} tablets or capsules"
        )
    return common_drugs(found, ingredients)


@lru_cache
def load_catalog() -> Catalog:
    """Real RxNorm/SNOMED/ICD-10 codes to draw patients from, in a stable order."""
    codes = json.loads(CODES_FILE.read_text(encoding="utf-8"))
    drugs: dict[DrugClass, tuple[Drug, ...]] = {}
    sources: dict[str, str] = {}
    seen: set[str] = set()
    medications = json.loads(MEDICATIONS_FILE.read_text(encoding="utf-8"))
    source = f"app/terminology/data/{MEDICATIONS_FILE.name}"
    for drug_class in ("benzodiazepine", "opioid", "cns"):
        found = _class_drugs(
            medications["codes"], drug_class, codes["common_ingredients"][drug_class]
        )
        # The CNS-depressant set overlaps the others; a code belongs to its first class.
        unique = tuple(d for d in found if d.code not in seen)
        seen.update(d.code for d in unique)
        drugs[drug_class] = unique
        sources[drug_class] = source
    drugs["other"] = tuple(
        Drug(d["code"], d["display"], "other", int(d["per_day"])) for d in codes["non_cns_drugs"]
    )
    sources["other"] = "bench/codes.json"
    return Catalog(
        drugs=drugs,
        conditions=tuple(codes["conditions"]),
        care_plans=tuple(codes["care_plans"]),
        service_requests=tuple(codes["service_requests"]),
        sources=sources,
    )


@dataclass
class SyntheticPatient:
    patient_id: str
    size: PatientSize
    patient: dict[str, Any]
    medications: list[dict[str, Any]] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    care_plans: list[dict[str, Any]] = field(default_factory=list)
    service_requests: list[dict[str, Any]] = field(default_factory=list)

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        """The patient's resources of one type (what a FHIR search for them returns)."""
        return {
            "Patient": [self.patient],
            "MedicationRequest": self.medications,
            "Condition": self.conditions,
            "CarePlan": self.care_plans,
            "ServiceRequest": self.service_requests,
        }.get(resource_type, [])

    def all_resources(self) -> list[dict[str, Any]]:
        return [
            self.patient,
            *self.medications,
            *self.conditions,
            *self.care_plans,
            *self.service_requests,
        ]


def _day(rng: random.Random, newest_days_ago: int, oldest_days_ago: int) -> date:
    return EVALUATION_DATE - timedelta(days=rng.randint(newest_days_ago, oldest_days_ago))


def _form(display: str) -> tuple[str, str]:
    return ("capsule", "CAP") if "Capsule" in display else ("tablet", "TAB")


# How EHRs write the same instruction (Epic's "(two)", abbreviations, Oracle Health's
# "PO BID", totals in brackets); {n} tablets, {f} times a day, {h} hours, {u} the unit.
_DAILY_TEXTS = (
    "Take {n} {u} by mouth {f} times daily",
    "Take {n} {u} by mouth {f} ({fw}) times daily.",
    "{n} {u} po {fa}",
    "{N} {U} PO {FA}",
    "Take {n} {u} ({mg} mg total) by mouth {f} times a day",
    "take {n} {u} orally {fw} times a day",
)
_PRN_TEXTS = (
    "Take {n} {u} by mouth every {h} hours as needed for pain",
    "Take {n} {u} by mouth every {h} (hours) as needed for pain. Max {mx} {u}s per day.",
    "{n} {u} po q{h}h prn pain",
    "Take {n}-{n2} {u}s by mouth every {h} hours as needed",
)
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}
_ABBREV = {1: "daily", 2: "bid", 3: "tid", 4: "qid"}


def _strength(display: str) -> float | None:
    found = re.search(r"(\d+(?:\.\d+)?) MG", display)
    return float(found.group(1)) if found else None


def _sig(template: str, *, n: float, f: int, h: int, unit: str, display: str) -> str:
    count = f"{n:g}"
    strength = _strength(display)
    return template.format(
        n=count,
        n2=f"{n * 2:g}",
        N=count,
        u=unit,
        U=unit.upper(),
        f=f,
        fw=_WORDS.get(f, f),
        fa=_ABBREV.get(f, f"{f} times daily"),
        FA=_ABBREV.get(f, "").upper() or f"{f}X DAILY",
        h=h,
        mx=int(24 / h * n),
        mg=f"{n * strength:g}" if strength else count,
    )


def _dosage(drug: Drug, rng: random.Random) -> tuple[dict[str, Any], float]:
    """One dosageInstruction (EHR-style text beside the structure) and units taken per day."""
    unit, form_code = _form(drug.display)
    as_needed = False
    count = 1.0
    if drug.drug_class == "opioid":
        repeat: dict[str, Any] = {
            "frequency": 1,
            "period": rng.choice([4, 6, 8]),
            "periodUnit": "h",
        }
        per_day = 24 / repeat["period"]
        as_needed = True
        text = _sig(
            rng.choice(_PRN_TEXTS),
            n=count,
            f=1,
            h=repeat["period"],
            unit=unit,
            display=drug.display,
        )
    else:
        per_day_count = (
            rng.choice([1, 2, 3]) if drug.drug_class == "benzodiazepine" else drug.per_day
        )
        if drug.drug_class == "benzodiazepine":
            count = rng.choice([0.5, 1.0, 1.0, 2.0])
        repeat = {"frequency": per_day_count, "period": 1, "periodUnit": "d"}
        per_day = per_day_count * count
        as_needed = drug.drug_class == "benzodiazepine" and rng.random() < 0.3
        text = _sig(
            rng.choice(_DAILY_TEXTS),
            n=count,
            f=per_day_count,
            h=24 // per_day_count,
            unit=unit,
            display=drug.display,
        ) + (" as needed for anxiety" if as_needed else "")
        if drug.drug_class == "cns":
            repeat["when"] = ["HS"]
    dose = {
        "value": count,
        "unit": unit,
        "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
        "code": form_code,
    }
    return {
        "sequence": 1,
        "text": text,
        "timing": {"repeat": repeat},
        "asNeededBoolean": as_needed,
        "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]},
        "doseAndRate": [{"doseQuantity": dose}],
    }, per_day


def medication_request(
    drug: Drug, *, rid: str, patient_id: str, status: str, authored: date, rng: random.Random
) -> dict[str, Any]:
    """A realistic outpatient MedicationRequest for one RxNorm SCD."""
    dosage, per_day = _dosage(drug, rng)
    supply_days = rng.choice([7, 14, 30]) if drug.drug_class == "opioid" else rng.choice([30, 90])
    unit, _ = _form(drug.display)
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "meta": {"lastUpdated": f"{authored.isoformat()}T09:00:00Z"},
        "status": status,
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "community",
                        "display": "Community",
                    }
                ]
            }
        ],
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": drug.code, "display": drug.display}],
            "text": drug.display,
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": authored.isoformat(),
        "requester": {"reference": f"Practitioner/bench-prescriber-{rng.randint(1, 6)}"},
        "dosageInstruction": [dosage],
        "dispenseRequest": {
            "validityPeriod": {
                "start": authored.isoformat(),
                "end": (authored + timedelta(days=365)).isoformat(),
            },
            "numberOfRepeatsAllowed": 0 if drug.drug_class == "opioid" else rng.randint(0, 5),
            "quantity": {"value": int(per_day * supply_days), "unit": unit},
            "expectedSupplyDuration": {
                "value": supply_days,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },
    }


def _medication_plan(size: PatientSize) -> list[DrugClass]:
    """About a tenth each of benzodiazepines, opioids and other CNS drugs; the rest non-CNS."""
    share = max(1, round(size.medications / 10))
    plan: list[DrugClass] = ["benzodiazepine"] * share + ["opioid"] * share + ["cns"] * share
    return plan + ["other"] * (size.medications - len(plan))


def _medications(
    size: PatientSize, patient_id: str, catalog: Catalog, rng: random.Random
) -> list[dict[str, Any]]:
    out = []
    first_of_class: set[DrugClass] = set()
    for index, drug_class in enumerate(_medication_plan(size), start=1):
        drug = rng.choice(catalog.drugs[drug_class])
        if drug_class not in first_of_class:
            # One active order per class keeps the overlap/taper rules busy on every call.
            first_of_class.add(drug_class)
            status, authored = "active", _day(rng, 5, 120)
        else:
            status = rng.choices(["active", "completed", "stopped"], weights=[6, 3, 1])[0]
            authored = _day(rng, 5, 180) if status == "active" else _day(rng, 60, 720)
        out.append(
            medication_request(
                drug,
                rid=f"{patient_id}-med-{index}",
                patient_id=patient_id,
                status=status,
                authored=authored,
                rng=rng,
            )
        )
    return out


def _conditions(
    size: PatientSize, patient_id: str, catalog: Catalog, rng: random.Random
) -> list[dict[str, Any]]:
    out = []
    for index in range(1, size.conditions + 1):
        # The first conditions cycle through the whole list so every size has the key ones
        # (insomnia, anxiety, back pain); larger charts repeat them as encounter diagnoses.
        concept = (
            catalog.conditions[index - 1]
            if index <= len(catalog.conditions)
            else rng.choice(catalog.conditions)
        )
        onset = _day(rng, 30, 3650)
        resolved = rng.random() < 0.2
        category = (
            "problem-list-item" if index <= len(catalog.conditions) else "encounter-diagnosis"
        )
        out.append(
            {
                "resourceType": "Condition",
                "id": f"{patient_id}-cond-{index}",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "resolved" if resolved else "active",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                "code": category,
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": concept["snomed"],
                            "display": concept["display"],
                        },
                        {"system": ICD10, "code": concept["icd10"], "display": concept["display"]},
                    ],
                    "text": concept["display"],
                },
                "subject": {"reference": f"Patient/{patient_id}"},
                "onsetDateTime": onset.isoformat(),
                "recordedDate": onset.isoformat(),
                **({"abatementDateTime": _day(rng, 1, 29).isoformat()} if resolved else {}),
            }
        )
    return out


def _care_plans(
    size: PatientSize, patient_id: str, catalog: Catalog, rng: random.Random
) -> list[dict[str, Any]]:
    out = []
    for index in range(1, size.care_plans + 1):
        plan = catalog.care_plans[(index - 1) % len(catalog.care_plans)]
        out.append(
            {
                "resourceType": "CarePlan",
                "id": f"{patient_id}-careplan-{index}",
                "status": "active",
                "intent": "plan",
                "title": plan["title"],
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category",
                                "code": "assess-plan",
                            }
                        ]
                    }
                ],
                "subject": {"reference": f"Patient/{patient_id}"},
                "period": {"start": _day(rng, 30, 400).isoformat()},
                "description": plan["title"],
            }
        )
    return out


def _service_requests(
    size: PatientSize, patient_id: str, catalog: Catalog, rng: random.Random
) -> list[dict[str, Any]]:
    out = []
    for index in range(1, size.service_requests + 1):
        concept = rng.choice(catalog.service_requests)
        out.append(
            {
                "resourceType": "ServiceRequest",
                "id": f"{patient_id}-sr-{index}",
                "status": rng.choice(["active", "completed"]),
                "intent": "order",
                "code": {
                    "coding": [
                        {"system": SNOMED, "code": concept["snomed"], "display": concept["display"]}
                    ],
                    "text": concept["display"],
                },
                "subject": {"reference": f"Patient/{patient_id}"},
                "authoredOn": _day(rng, 10, 365).isoformat(),
            }
        )
    return out


def make_patient(
    size: PatientSize = TYPICAL, seed: int = DEFAULT_SEED, patient_id: str | None = None
) -> SyntheticPatient:
    """A whole chart of `size`; the same seed always gives the same resources."""
    rng = random.Random(f"{seed}:{size.name}")
    catalog = load_catalog()
    pid = patient_id or f"bench-{size.name}"
    birth = EVALUATION_DATE - timedelta(days=365 * rng.randint(45, 82) + rng.randint(0, 364))
    patient = {
        "resourceType": "Patient",
        "id": pid,
        "active": True,
        "name": [{"use": "official", "family": "Benchmark", "given": [size.name.title()]}],
        "gender": rng.choice(["female", "male"]),
        "birthDate": birth.isoformat(),
    }
    return SyntheticPatient(
        patient_id=pid,
        size=size,
        patient=patient,
        medications=_medications(size, pid, catalog, rng),
        conditions=_conditions(size, pid, catalog, rng),
        care_plans=_care_plans(size, pid, catalog, rng),
        service_requests=_service_requests(size, pid, catalog, rng),
    )


def rotation(size: PatientSize, count: int, seed: int = DEFAULT_SEED) -> Iterator[SyntheticPatient]:
    """``count`` distinct patients of one size (own ids, drugs, sigs, conditions, dates), so a
    benchmark that rotates through them cannot be flattered by caches keyed by content."""
    for index in range(count):
        yield make_patient(size, seed=seed + index, patient_id=f"bench-{size.name}-{index:05d}")


def searchset(
    resources: list[dict[str, Any]], base: str = "http://bench.invalid/fhir"
) -> dict[str, Any]:
    """A FHIR searchset Bundle of `resources`."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def prefetch(patient: SyntheticPatient) -> dict[str, Any]:
    """Every prefetch key the services declare, filled as an EHR would."""
    return {
        "patient": patient.patient,
        "medications": searchset(patient.medications),
        "conditions": searchset(patient.conditions),
        "carePlans": searchset(patient.care_plans),
        "serviceRequests": searchset(patient.service_requests),
    }


def _hook_instance(seed: int, label: str) -> str:
    return str(uuid.UUID(int=random.Random(f"{seed}:{label}").getrandbits(128), version=4))


def patient_view_request(
    patient: SyntheticPatient, *, seed: int = DEFAULT_SEED, fhir_server: str | None = None
) -> dict[str, Any]:
    """patient-view with full prefetch, or with none and a fhirServer to fetch from."""
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": _hook_instance(seed, "patient-view"),
        "context": {"userId": "Practitioner/bench-user", "patientId": patient.patient_id},
    }
    if fhir_server is None:
        body["prefetch"] = prefetch(patient)
    else:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {
            "access_token": "bench-access-token",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "patient/*.read",
            "subject": "bench-client",
        }
    return body


def order_select_request(patient: SyntheticPatient, *, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """order-select with full prefetch; the selected draft is a new benzodiazepine order."""
    rng = random.Random(f"{seed}:order-select:{patient.size.name}")
    catalog = load_catalog()
    benzo = rng.choice(catalog.drugs["benzodiazepine"])
    other = rng.choice(catalog.drugs["other"])
    drafts = [
        medication_request(
            drug,
            rid=rid,
            patient_id=patient.patient_id,
            status="draft",
            authored=EVALUATION_DATE,
            rng=rng,
        )
        for drug, rid in ((benzo, "draft-benzo-1"), (other, "draft-other-2"))
    ]
    return {
        "hook": "order-select",
        "hookInstance": _hook_instance(seed, "order-select"),
        "context": {
            "userId": "Practitioner/bench-user",
            "patientId": patient.patient_id,
            "selections": ["MedicationRequest/draft-benzo-1"],
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": d} for d in drafts],
            },
        },
        "prefetch": prefetch(patient),
    }
