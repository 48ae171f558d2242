"""Normalization of the real sample patients in ../shared/fhir_samples vs manifest.csv."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import Any

import pytest

from app.config import Settings
from app.fhir.gathered import Gathered
from app.normalize import build_record
from app.record import ConditionCategory, DrugClass, PatientRecord
from tests.shared_data import SHARED, needs_shared

SAMPLES = SHARED / "fhir_samples"
FOLDERS = ("smart-generated-sample-data-r4", "smart-sample-bulk-10-patients")
BENZOS = ("diazepam", "clonazepam", "midazolam", "alprazolam", "lorazepam", "temazepam")
OPIOIDS = (
    "oxycodone",
    "hydrocodone",
    "morphine",
    "meperidine",
    "remifentanil",
    "fentanyl",
    "codeine",
    "tramadol",
    "hydromorphone",
)


def _rows() -> list[Any]:
    rows = []
    for folder in FOLDERS:
        manifest = SAMPLES / folder / "manifest.csv"
        if not manifest.exists():
            continue
        with manifest.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.append(pytest.param(folder, row, id=f"{folder[:12]}-{row['file'][:8]}"))
    return rows


ROWS = _rows()
pytestmark = needs_shared("fhir_samples")


def load(folder: str, name: str) -> tuple[Gathered, dict[str, int]]:
    bundle = json.loads((SAMPLES / folder / name).read_text(encoding="utf-8"))
    resources = [entry["resource"] for entry in bundle.get("entry", [])]
    counts: dict[str, int] = {}
    for r in resources:
        counts[r["resourceType"]] = counts.get(r["resourceType"], 0) + 1
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    by_type = {
        t: [r for r in resources if r["resourceType"] == t]
        for t in ("MedicationRequest", "Condition", "CarePlan", "ServiceRequest")
    }
    return Gathered(
        patient_id=patient["id"],
        hook="patient-view",
        patient=patient,
        medication_requests=by_type["MedicationRequest"],
        conditions=by_type["Condition"],
        care_plans=by_type["CarePlan"],
        service_requests=by_type["ServiceRequest"],
    ), counts


def flag(row: dict[str, str], key: str) -> bool:
    return row[key] == "True"


def names_in(text: str, vocabulary: tuple[str, ...]) -> set[str]:
    low = text.lower()
    return {name for name in vocabulary if name in low}


def build(folder: str, row: dict[str, str], settings: Settings) -> tuple[PatientRecord, dict]:
    g, counts = load(folder, row["file"])
    return build_record(g, today=date.fromisoformat(row["as_of"]), settings=settings), counts


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, active_order_max_age_days=730)


@pytest.mark.parametrize(("folder", "row"), ROWS)
def test_sample_patient(folder: str, row: dict[str, str], settings: Settings) -> None:
    rec, counts = build(folder, row, settings)
    as_of = date.fromisoformat(row["as_of"])

    # nothing lost or unreadable
    assert rec.skipped == {}
    assert len(rec.medications) == counts.get("MedicationRequest", 0)
    assert len(rec.conditions) <= counts.get("Condition", 0)

    # age at as_of (deceased patients: as_of is capped at death, age still computed)
    assert rec.birth_date == date.fromisoformat(row["birth_date"])
    assert rec.age == int(row["age"])

    benzos = [m for m in rec.medications if m.drug_class == DrugClass.BENZODIAZEPINE]
    assert bool(benzos) == flag(row, "has_benzo")
    assert {m.ingredient for m in benzos} == names_in(row["benzo_meds"], BENZOS)
    # manifest benzo_active = an order with status active
    assert any(m.status == "active" for m in benzos) == flag(row, "benzo_active")
    for m in rec.medications:
        # CDC "active ambulatory Rx": status active and authoredOn within 2 years of as_of
        assert m.authored_on is not None and not m.is_draft
        expected = m.status == "active" and (as_of - m.authored_on).days <= 730
        assert m.is_active == expected, m.ref
        assert m.name and m.name != "unnamed medication"
    # without the 2-year window, "active at as_of" is exactly the manifest flag
    wide, _ = build(folder, row, settings.model_copy(update={"active_order_max_age_days": 10**6}))
    assert any(
        m.is_active and m.drug_class == DrugClass.BENZODIAZEPINE for m in wide.medications
    ) == flag(row, "benzo_active")
    assert any(m.is_active and m.drug_class == DrugClass.OPIOID for m in wide.medications) == flag(
        row, "opioid_active"
    )

    opioids = [m for m in rec.medications if m.drug_class == DrugClass.OPIOID]
    assert bool(opioids) == flag(row, "has_opioid")
    assert {m.ingredient for m in opioids} == names_in(row["opioid_meds"], OPIOIDS)

    if flag(row, "has_anxiety"):
        assert rec.has_condition(ConditionCategory.ANXIETY, active_only=False)
    if flag(row, "has_insomnia"):
        assert rec.has_condition(ConditionCategory.INSOMNIA, active_only=False)


def test_perioperative_overlap_patient_is_injectable_and_inactive(settings: Settings) -> None:
    row = next((p.values[1] for p in ROWS if p.values[1]["file"].startswith("3afaeb2a")), None)
    if row is None:
        pytest.skip("perioperative sample not present")
    rec, _ = build("smart-generated-sample-data-r4", row, settings)
    midazolam = [m for m in rec.medications if m.ingredient == "midazolam"]
    assert midazolam and all(m.is_injectable and not m.is_active for m in midazolam)
    opioids = [m for m in rec.medications if m.drug_class == DrugClass.OPIOID]
    assert opioids and not any(m.is_active for m in opioids)


def test_deceased_patients_are_normalized(settings: Settings) -> None:
    deceased = [p.values for p in ROWS if p.values[1]["deceased"] == "True"]
    assert deceased
    for folder, row in deceased:
        rec, _ = build(folder, row, settings)
        assert rec.age == int(row["age"])
