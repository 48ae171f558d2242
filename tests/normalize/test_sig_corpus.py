"""The sig corpus (tests/normalize/data/sig_corpus.json) as a table: every entry as expected."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.normalize.dosage import daily_dose
from app.record import DoseConfidence

CORPUS = json.loads(
    (Path(__file__).parent / "data" / "sig_corpus.json").read_text(encoding="utf-8")
)
ENTRIES: list[dict[str, Any]] = CORPUS["entries"]
TODAY = date(2024, 6, 1)


def _strength(text: str | None) -> tuple[float | None, str | None]:
    if text is None:
        return None, None
    value, unit = text.split()
    return float(value), unit


def _dosages(entry: dict[str, Any]) -> list[dict[str, Any]]:
    if "sig" in entry:
        return [{"text": entry["sig"]}]
    return entry["dosages"] if "dosages" in entry else [entry["dosage"]]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_corpus_entry(entry: dict[str, Any]) -> None:
    strength, unit = _strength(entry["strength"])
    start = (
        TODAY - timedelta(days=entry["started_days_ago"]) if "started_days_ago" in entry else None
    )
    result = daily_dose(_dosages(entry), strength, unit, start=start, today=TODAY)
    assert result.confidence == DoseConfidence(entry["confidence"])
    expected = entry["mg_per_day"]
    assert result.daily_mg == (None if expected is None else pytest.approx(expected, rel=1e-6))
    low = entry.get("low")
    assert result.low_mg == (None if low is None else pytest.approx(low, rel=1e-6))
    assert result.as_needed is (
        result.confidence is DoseConfidence.AS_NEEDED_MAX
        or result.as_needed
        and result.daily_mg is None
    )


def test_corpus_is_large_varied_and_sourced() -> None:
    ids = [e["id"] for e in ENTRIES]
    assert len(ENTRIES) >= 150 and len(set(ids)) == len(ids)
    sources = CORPUS["header"]["sources"]
    assert all(e["source"] in sources for e in ENTRIES)
    by_source = Counter(e["source"] for e in ENTRIES)
    for kind in ("epic", "oracle-health", "synthea", "cds-hooks-sandbox", "fhir-r4", "handwritten"):
        assert by_source[kind] >= 5, kind
    confidences = Counter(e["confidence"] for e in ENTRIES)
    assert set(confidences) == {c.value for c in DoseConfidence}
