"""A loopback FHIR server stand-in: the synthetic patient's searches, each answered after a delay.

Configured by environment: BENCH_STANDIN_DELAY_MS (default 50), BENCH_STANDIN_SIZE (typical or
heavy) and BENCH_STANDIN_SEED. Any patient id gets the same chart, with its references rewritten.
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from bench.data import DEFAULT_SEED, SIZES, make_patient, searchset

SEARCHABLE = ("MedicationRequest", "Condition", "CarePlan", "ServiceRequest")
DELAY_S = float(os.environ.get("BENCH_STANDIN_DELAY_MS", "50")) / 1000
PATIENT = make_patient(
    SIZES[os.environ.get("BENCH_STANDIN_SIZE", "typical")],
    seed=int(os.environ.get("BENCH_STANDIN_SEED", str(DEFAULT_SEED))),
)
FHIR_JSON = "application/fhir+json"

app = FastAPI(title="FHIR stand-in", docs_url=None, redoc_url=None, openapi_url=None)


def _outcome(status: int, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "not-found", "diagnostics": text}],
    }
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON)


@lru_cache(maxsize=64)
def _template(base: str, resource_type: str) -> bytes:
    """Serialize once per (base, type): the stand-in should cost only its delay."""
    if resource_type == "Patient":
        return orjson.dumps(PATIENT.patient)
    return orjson.dumps(searchset(PATIENT.resources(resource_type), base))


def _serialized(base: str, resource_type: str, patient_id: str) -> bytes:
    """The chart for any patient id (the benchmark rotates through many): ids rewritten."""
    raw = _template(base, resource_type)
    if resource_type == "Patient":
        return raw.replace(
            f'"id":"{PATIENT.patient_id}"'.encode(), f'"id":"{patient_id}"'.encode(), 1
        )
    return raw.replace(f"Patient/{PATIENT.patient_id}".encode(), f"Patient/{patient_id}".encode())


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/fhir"


@app.get("/fhir/metadata")
async def metadata() -> Response:
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
    }
    return Response(orjson.dumps(body), media_type=FHIR_JSON)


@app.get("/fhir/Patient/{patient_id}")
async def read_patient(patient_id: str, request: Request) -> Response:
    await asyncio.sleep(DELAY_S)
    return Response(_serialized(_base(request), "Patient", patient_id), media_type=FHIR_JSON)


@app.get("/fhir/{resource_type}")
async def search(resource_type: str, request: Request) -> Response:
    await asyncio.sleep(DELAY_S)
    if resource_type not in SEARCHABLE:
        return _outcome(404, f"{resource_type} is not searchable here")
    patient = request.query_params.get("patient") or request.query_params.get("subject") or ""
    patient_id = patient.removeprefix("Patient/")
    if not patient_id:
        return _outcome(400, "a patient search parameter is required")
    return Response(_serialized(_base(request), resource_type, patient_id), media_type=FHIR_JSON)
