"""Byte-identical answers with the typed reader on and off, over HTTP, on realistic bodies.

Bodies: every request in fhir_fixtures/ (hooks, samples, the Sandbox's captured calls), the
benchmark's patients, and EHR-shaped requests from tests/api/ehr_shapes.py (Epic-style orders,
renewals, PRN, drafts, conditions, plans). The typed reader must also be the one that answered
the realistic ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.observability.metrics import DECODE_PATH
from bench import data
from tests.api.ehr_shapes import (
    DRUGS,
    SERVICE,
    care_plan,
    condition,
    hook,
    med_request,
    renewals,
    service_request,
)
from tests.conftest import FIXTURES


def _fixture_bodies() -> list[tuple[str, dict[str, Any], date | None]]:
    expected = json.loads((FIXTURES / "expected.json").read_text())["fixtures"]
    found = []
    for folder in ("hooks", "samples"):
        for path in sorted((FIXTURES / folder).glob("*.json")):
            body = json.loads(path.read_text(encoding="utf-8"))
            when = expected.get(f"{folder}/{path.name}", {}).get("evaluation_date")
            found.append(
                (f"{folder}/{path.name}", body, date.fromisoformat(when) if when else None)
            )
    # What the CDS Hooks Sandbox sent on the wire (single objects for arrays, drafts without a
    # drug); evaluated on the capture's date (fhir_fixtures/sandbox/README.md).
    for path in sorted((FIXTURES / "sandbox").glob("benzo-safety-*.json")):
        capture = json.loads(path.read_text(encoding="utf-8"))
        if not capture["url_path"].endswith("/feedback"):
            found.append((f"sandbox/{path.name}", capture["body"], date(2026, 11, 27)))
    return found


def _ehr_bodies() -> list[tuple[str, dict[str, Any], date | None]]:
    insomnia = condition("c1", "Insomnia", snomed="193462001", icd="G47.00")
    anxiety = condition("c2", "Generalized anxiety disorder", snomed="21897009", icd="F41.1")
    plans = [care_plan("cp1", "Benzodiazepine taper plan")]
    referral = [service_request("sr1", "Referral to CBT-I")]
    bodies: list[tuple[str, dict[str, Any], date | None]] = []
    for drug in DRUGS:
        for prn in (False, True):
            meds = [
                med_request(f"{drug}-1", drug, days_ago=60, prn=prn),
                med_request("opioid-1", "oxycodone", days_ago=10, prn=True),
            ]
            bodies.append(
                (
                    f"pv-{drug}-{prn}",
                    hook(
                        meds=meds, conditions=[insomnia, anxiety], care_plans=plans if prn else []
                    ),
                    None,
                )
            )
        draft = med_request("draft-1", drug, status="draft", days_ago=None)
        bodies.append(
            (
                f"os-{drug}",
                hook(
                    "order-select",
                    meds=renewals(drug, months=4),
                    drafts=[draft],
                    conditions=[insomnia],
                    service_requests=referral,
                ),
                None,
            )
        )
        bodies.append(
            (
                f"sign-{drug}",
                hook(
                    "order-sign",
                    drafts=[draft],
                    age=78,
                    meds=[med_request("old", drug, status="completed", days_ago=400)],
                ),
                None,
            )
        )
    return bodies


def _bench_bodies() -> list[tuple[str, dict[str, Any], date | None]]:
    found = []
    for index, size in enumerate((data.TYPICAL, data.HEAVY, data.TYPICAL)):
        patient = data.make_patient(size, seed=index, patient_id=f"bench-{index}")
        found += [
            (f"bench-{index}-pv", data.patient_view_request(patient), data.EVALUATION_DATE),
            (
                f"bench-{index}-os",
                data.order_select_request(patient, seed=index),
                data.EVALUATION_DATE,
            ),
        ]
    return found


BODIES = _fixture_bodies() + _ehr_bodies() + _bench_bodies()
# Requests that must be answered by the lenient reader: DSTU2, no prefetch (fetching), and the
# Sandbox's draft orders (category and reasonCode as single objects, not arrays).
LENIENT = ("dstu2", "fallback", "select-lorazepam", "select-naloxone")


@pytest.mark.parametrize(("name", "body", "when"), BODIES, ids=[b[0] for b in BODIES])
def test_same_bytes_with_and_without_typed_reader(
    make_client: Callable[..., TestClient], name: str, body: dict[str, Any], when: date | None
) -> None:
    overrides = {"evaluation_date": when} if when else {}
    fast = make_client(typed_decode=True, **overrides)
    slow = make_client(typed_decode=False, **overrides)
    path = SERVICE[body["hook"]]
    typed_before = DECODE_PATH.labels("typed")._value.get()
    answer = fast.post(path, json=body)
    took_typed = DECODE_PATH.labels("typed")._value.get() > typed_before
    reference = slow.post(path, json=body)
    assert answer.status_code == reference.status_code
    assert answer.content == reference.content
    assert took_typed is not any(word in name for word in LENIENT), name


def test_bench_overlap_card_fits(make_client: Callable[..., TestClient]) -> None:
    """A typical benchmark patient (several PRN opioids and a benzodiazepine) gets cards that
    fit the clinician's reading budget (checked by the api conftest as the answer arrives)."""
    client = make_client(evaluation_date=data.EVALUATION_DATE)
    patient = data.make_patient(data.TYPICAL, seed=0, patient_id="bench-0")
    assert (
        client.post(SERVICE["patient-view"], json=data.patient_view_request(patient)).status_code
        == 200
    )
