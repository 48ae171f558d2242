"""The benchmark's synthetic patients: reproducible, the promised sizes, FHIR-shaped."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bench import data


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize("size", [data.TYPICAL, data.HEAVY], ids=lambda s: s.name)
def test_same_seed_same_requests(size: data.PatientSize) -> None:
    first, second = data.make_patient(size, seed=7), data.make_patient(size, seed=7)
    assert _dump(first.all_resources()) == _dump(second.all_resources())
    assert _dump(data.order_select_request(first, seed=7)) == _dump(
        data.order_select_request(second, seed=7)
    )
    assert _dump(data.patient_view_request(first, seed=7)) == _dump(
        data.patient_view_request(second, seed=7)
    )


def test_other_seed_other_patient() -> None:
    assert _dump(data.make_patient(data.TYPICAL, seed=1).medications) != _dump(
        data.make_patient(data.TYPICAL, seed=2).medications
    )


@pytest.mark.parametrize(("size", "meds", "conds"), [(data.TYPICAL, 20, 15), (data.HEAVY, 100, 50)])
def test_sizes(size: data.PatientSize, meds: int, conds: int) -> None:
    patient = data.make_patient(size)
    assert len(patient.medications) == meds
    assert len(patient.conditions) == conds
    body = data.patient_view_request(patient)
    assert len(body["prefetch"]["medications"]["entry"]) == meds
    assert len(body["prefetch"]["conditions"]["entry"]) == conds
    assert set(body["prefetch"]) == {
        "patient",
        "medications",
        "conditions",
        "carePlans",
        "serviceRequests",
    }


@pytest.mark.parametrize("size", [data.TYPICAL, data.HEAVY], ids=lambda s: s.name)
def test_resources_are_fhir_shaped(size: data.PatientSize) -> None:
    patient = data.make_patient(size)
    resources = patient.all_resources()
    keys = [(r["resourceType"], r["id"]) for r in resources]
    assert len(keys) == len(set(keys)), "resource ids must be unique per type"
    assert {r["resourceType"] for r in resources} == {
        "Patient",
        "MedicationRequest",
        "Condition",
        "CarePlan",
        "ServiceRequest",
    }
    for resource in resources[1:]:
        assert resource["subject"] == {"reference": f"Patient/{patient.patient_id}"}
    for med in patient.medications:
        coding = med["medicationCodeableConcept"]["coding"][0]
        assert coding["system"] == data.RXNORM and coding["code"].isdigit() and coding["display"]
        assert med["status"] in {"active", "completed", "stopped"}
        assert date.fromisoformat(med["authoredOn"]) <= data.EVALUATION_DATE
        dosage = med["dosageInstruction"][0]
        assert dosage["timing"]["repeat"]["frequency"] >= 1
        assert dosage["doseAndRate"][0]["doseQuantity"]["value"] > 0
        assert med["dispenseRequest"]["expectedSupplyDuration"]["code"] == "d"
    for condition in patient.conditions:
        systems = {c["system"] for c in condition["code"]["coding"]}
        assert systems == {data.SNOMED, data.ICD10}


def test_patients_mix_cns_classes_with_ordinary_drugs() -> None:
    catalog = data.load_catalog()
    by_code = {d.code: d.drug_class for group in catalog.drugs.values() for d in group}
    patient = data.make_patient(data.TYPICAL)
    classes = [
        by_code[m["medicationCodeableConcept"]["coding"][0]["code"]] for m in patient.medications
    ]
    assert classes.count("benzodiazepine") == 2 and classes.count("opioid") == 2
    assert classes.count("other") == 14
    icd = {c["code"]["coding"][1]["code"] for c in patient.conditions}
    assert {"G47.00", "F41.1", "M54.50"} <= icd


def test_order_select_selects_a_benzodiazepine_draft() -> None:
    body = data.order_select_request(data.make_patient(data.HEAVY))
    context = body["context"]
    drafts = {
        f"MedicationRequest/{e['resource']['id']}": e["resource"]
        for e in context["draftOrders"]["entry"]
    }
    assert context["selections"] == ["MedicationRequest/draft-benzo-1"]
    selected = drafts[context["selections"][0]]
    assert selected["status"] == "draft"
    benzo_codes = {d.code for d in data.load_catalog().drugs["benzodiazepine"]}
    assert selected["medicationCodeableConcept"]["coding"][0]["code"] in benzo_codes
    assert body["hook"] == "order-select" and len(body["prefetch"]["medications"]["entry"]) == 100


def test_fallback_request_has_no_prefetch_and_names_the_server() -> None:
    body = data.patient_view_request(data.make_patient(), fhir_server="http://127.0.0.1:9/fhir")
    assert "prefetch" not in body
    assert body["fhirServer"] == "http://127.0.0.1:9/fhir"
    assert body["fhirAuthorization"]["token_type"] == "Bearer"
