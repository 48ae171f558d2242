"""Every benzodiazepine/opioid MedicationRequest in the shared sample patients is classified."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.record import DrugClass
from app.terminology import classify_medication

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "fhir_samples"
BENZO = re.compile(
    r"alprazolam|lorazepam|clonazepam|diazepam|temazepam|midazolam|oxazepam|"
    r"chlordiazepoxide|triazolam|clobazam|clorazepate",
    re.I,
)
OPIOID = re.compile(
    r"oxycodone|hydrocodone|morphine|meperidine|remifentanil|fentanyl|codeine|"
    r"tramadol|methadone|buprenorphine|hydromorphone|tapentadol",
    re.I,
)

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"samples not present at {SAMPLES}")


def _requests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(SAMPLES.glob("*/*.json")):
        bundle = json.loads(path.read_text())
        for entry in bundle.get("entry", []):
            res = entry.get("resource", {})
            if res.get("resourceType") == "MedicationRequest":
                found.append((f"{path.parent.name}/{path.name}", res))
    return found


def _args(
    res: dict[str, Any],
) -> tuple[list[tuple[str | None, str | None, str | None]], str | None]:
    concept = res.get("medicationCodeableConcept") or {}
    codings = [
        (c.get("system"), c.get("code"), c.get("display")) for c in concept.get("coding", [])
    ]
    return codings, concept.get("text")


def test_samples_have_benzo_and_opioid_orders() -> None:
    texts = [json.dumps(res.get("medicationCodeableConcept")) for _, res in _requests()]
    assert any(BENZO.search(t) for t in texts) and any(OPIOID.search(t) for t in texts)


def test_every_benzo_and_opioid_order_is_classified() -> None:
    for where, res in _requests():
        codings, text = _args(res)
        names = " ".join([text or "", *(d or "" for _, _, d in codings)])
        info = classify_medication(codings, text)
        benzo, opioid = BENZO.search(names), OPIOID.search(names)
        if benzo:
            assert info is not None and info.drug_class == DrugClass.BENZODIAZEPINE, where
            assert info.ingredient == benzo.group(0).lower(), where
        elif opioid:
            assert info is not None and info.drug_class == DrugClass.OPIOID, where
            assert info.ingredient == opioid.group(0).lower(), where
        else:
            assert info is None or info.drug_class not in (
                DrugClass.BENZODIAZEPINE,
                DrugClass.OPIOID,
            ), (where, names)


def test_manifest_medication_names_classify() -> None:
    by_text: dict[str, tuple[list[Any], str | None]] = {}
    for _, res in _requests():
        codings, text = _args(res)
        if text:
            by_text[text] = (codings, text)
    checked = 0
    for manifest in sorted(SAMPLES.glob("*/manifest.csv")):
        with manifest.open(newline="") as fh:
            for row in csv.DictReader(fh):
                for column, cls in (
                    ("benzo_meds", DrugClass.BENZODIAZEPINE),
                    ("opioid_meds", DrugClass.OPIOID),
                ):
                    for name in filter(None, (n.strip() for n in row[column].split(";"))):
                        codings, text = by_text.get(name, ([], name))
                        info = classify_medication(codings, text)
                        assert info is not None and info.drug_class == cls, (manifest, name)
                        checked += 1
    assert checked > 0
