"""Fixtures: a small stand-in terminology so normalization logic is tested on its own.

The stand-in is swapped in only by the ``fake_terms`` fixture; the sample-patient and
tall-man tests use the real ``app.terminology``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pytest

from app.config import Settings
from app.normalize import conditions as conditions_mod
from app.normalize import medications as medications_mod
from app.normalize import plans as plans_mod
from app.normalize import reasons as reasons_mod
from app.record import ConditionCategory, DrugClass, PlanKind
from app.terminology import DrugInfo

TODAY = date(2024, 6, 1)

_DRUGS = {
    "alprazolam": DrugInfo(DrugClass.BENZODIAZEPINE, "alprazolam", 0.5, "mg", False, False, "name"),
    "diazepam": DrugInfo(DrugClass.BENZODIAZEPINE, "diazepam", 5.0, "mg", False, False, "name"),
    "midazolam": DrugInfo(DrugClass.BENZODIAZEPINE, "midazolam", 1.0, "mg/ml", True, False, "name"),
    "zolpidem": DrugInfo(DrugClass.Z_DRUG, "zolpidem", 10.0, "mg", False, False, "name"),
    "oxycodone": DrugInfo(DrugClass.OPIOID, "oxycodone", 5.0, "mg", False, False, "name"),
    "fentanyl": DrugInfo(DrugClass.OPIOID, "fentanyl", 0.025, "mg/hr", False, False, "name"),
    "buprenorphine": DrugInfo(DrugClass.OPIOID, "buprenorphine", 8.0, "mg", False, True, "name"),
}
_BY_CODE = {"308047": "alprazolam"}  # RxNorm alprazolam 0.25 MG tablet, mapped by code
MME = {"oxycodone": 1.5}
MME_TRANSDERMAL = {"fentanyl": 2.4}
DIAZEPAM_EQ = {"alprazolam": 0.5, "diazepam": 10.0, "zolpidem": 20.0}


def fake_classify_medication(
    codings: Iterable[tuple[str | None, str | None, str | None]], text: str | None
) -> DrugInfo | None:
    words = [(text or "").lower()]
    for _, code, display in codings:
        if code in _BY_CODE:
            return _DRUGS[_BY_CODE[code]]
        words.append((display or "").lower())
    for ingredient, info in _DRUGS.items():
        if any(ingredient in w for w in words):
            return info
    return None


def fake_classify_condition(
    codings: Iterable[tuple[str | None, str | None, str | None]], text: str | None
) -> frozenset[ConditionCategory]:
    found = set()
    words = " ".join([(text or "")] + [f"{c} {d}" for _, c, d in codings]).lower()
    if "insomnia" in words or "f51.01" in words:
        found.add(ConditionCategory.INSOMNIA)
    if "anxiety" in words or "panic" in words:
        found.add(ConditionCategory.ANXIETY)
    if "seizure" in words or "epilepsy" in words:
        found.add(ConditionCategory.SEIZURE)
    return frozenset(found)


def fake_classify_plan(
    codings: Iterable[tuple[str | None, str | None, str | None]], text: str | None
) -> PlanKind | None:
    words = " ".join([(text or "")] + [f"{d}" for _, _, d in codings]).lower()
    if "taper" in words:
        return PlanKind.TAPER_PLAN
    if "cbt-i" in words or "cognitive behavioral therapy for insomnia" in words:
        return PlanKind.CBTI_REFERRAL
    if "medication review" in words:
        return PlanKind.MEDICATION_REVIEW
    return None


def fake_mme(ingredient: str, *, transdermal: bool = False) -> float | None:
    return (MME_TRANSDERMAL if transdermal else MME).get(ingredient)


@pytest.fixture
def fake_terms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(medications_mod, "_classify_drug", fake_classify_medication)
    monkeypatch.setattr(reasons_mod, "_classify_reason", fake_classify_condition)
    monkeypatch.setattr(medications_mod, "mme_factor", fake_mme)
    monkeypatch.setattr(medications_mod, "diazepam_equivalent", DIAZEPAM_EQ.get)
    monkeypatch.setattr(conditions_mod, "classify", fake_classify_condition)
    monkeypatch.setattr(plans_mod, "_classify", fake_classify_plan)


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, active_order_max_age_days=730, review_interval_days=90)
