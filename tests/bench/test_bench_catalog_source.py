"""The benchmark's drugs, read from app/terminology, are those of the CDC source expansions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bench import data
from tests.shared_data import SHARED, needs_shared

CDC = "terminology/source/cqframework-opioid-cds-r4"


def _codings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("code"), str) and isinstance(node.get("display"), str):
            yield node
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codings(item)


def _from_expansion(drug_class: data.DrugClass) -> list[data.Drug]:
    path = SHARED / CDC / f"{data.VALUE_SETS[drug_class]}.json"
    found: dict[str, data.Drug] = {}
    for coding in _codings(json.loads(path.read_text(encoding="utf-8"))):
        if coding.get("system", data.RXNORM) == data.RXNORM and data.ORAL_SCD.match(
            coding["display"]
        ):
            found.setdefault(
                coding["code"], data.Drug(coding["code"], coding["display"], drug_class)
            )
    return sorted(found.values(), key=lambda d: int(d.code))


@needs_shared(CDC)
def test_catalog_equals_the_cdc_expansions() -> None:
    ingredients = json.loads(data.CODES_FILE.read_text(encoding="utf-8"))["common_ingredients"]
    catalog = data.load_catalog()
    seen: set[str] = set()
    for drug_class in ("benzodiazepine", "opioid", "cns"):
        expected = [
            d
            for d in data.common_drugs(_from_expansion(drug_class), ingredients[drug_class])
            if d.code not in seen
        ]
        seen.update(d.code for d in expected)
        assert list(catalog.drugs[drug_class]) == expected, drug_class


def test_catalog_needs_only_the_project() -> None:
    catalog = data.load_catalog()
    assert set(catalog.sources.values()) == {
        "app/terminology/data/medications.json",
        "bench/codes.json",
    }
    assert all(len(catalog.drugs[c]) >= 3 for c in ("benzodiazepine", "opioid", "cns"))
