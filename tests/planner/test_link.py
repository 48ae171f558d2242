"""The card's planner link: only a confirmed dose, no patient identifier, only known drugs."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from app.config import Settings
from app.planner.link import base_url, planner_url, with_public_base
from app.planner.query import parse
from app.record import DoseConfidence, DrugClass, MedicationUse

SETTINGS = Settings(_env_file=None, public_base_url="https://cds.example.org")  # type: ignore[call-arg]
START = date(2026, 11, 23)


def _med(
    confidence: DoseConfidence,
    dose: float | None = 1.5,
    name: str = "alprazolam 0.5 MG Oral Tablet",
    ingredient: str | None = "alprazolam",
) -> MedicationUse:
    return MedicationUse(
        ref="MedicationRequest/secret-order-id",
        name=name,
        drug_class=DrugClass.BENZODIAZEPINE,
        ingredient=ingredient,
        rxnorm="308048",
        strength_mg=0.5,
        strength_unit="mg",
        daily_dose_mg=dose,
        dose_confidence=confidence,
    )


@pytest.mark.parametrize(
    ("confidence", "has_dose"),
    [
        (DoseConfidence.EXACT, True),
        (DoseConfidence.RANGE, False),
        (DoseConfidence.AS_NEEDED_MAX, False),
        (DoseConfidence.UNKNOWN, False),
    ],
)
def test_only_an_exact_dose_travels(confidence: DoseConfidence, has_dose: bool) -> None:
    url = planner_url(SETTINGS, _med(confidence), START)
    assert url is not None
    params = parse_qs(urlsplit(url).query)
    assert ("dose" in params) is has_dose
    assert params["drug"] == ["alprazolam"] and params["form"] == ["tablet"]
    assert params["strength"] == ["0.5"] and params["start"] == ["2026-11-23"]
    assert "secret-order-id" not in url and "308048" not in url
    parse(params, START)  # the planner reads every link the card writes


def test_links_need_a_base_and_a_plannable_drug() -> None:
    no_base = Settings(_env_file=None)  # type: ignore[call-arg]
    assert planner_url(no_base, _med(DoseConfidence.EXACT), START) is None
    assert planner_url(SETTINGS, _med(DoseConfidence.EXACT, ingredient=None), START) is None
    assert (
        planner_url(
            SETTINGS,
            _med(DoseConfidence.EXACT, ingredient="midazolam", name="midazolam 5 MG/ML Injection"),
            START,
        )
        is None
    )


def test_odd_numbers_are_left_for_the_planner_to_ask() -> None:
    url = planner_url(SETTINGS, _med(DoseConfidence.EXACT, dose=1 / 3), START)
    assert url is not None and "dose=" not in url


def test_liquid_and_unmarketed_forms() -> None:
    liquid = planner_url(
        SETTINGS,
        _med(
            DoseConfidence.EXACT, name="lorazepam 2 MG/ML Oral Concentrate", ingredient="lorazepam"
        ),
        START,
    )
    assert liquid is not None and "form=liquid" in liquid
    patch = planner_url(
        SETTINGS, _med(DoseConfidence.EXACT, name="alprazolam 0.5 MG sublingual tablet"), START
    )
    assert patch is not None and "form=" not in patch  # no sublingual alprazolam marketed


def test_base_url_from_the_request() -> None:
    assert base_url("http://user:pw@cds.local:8000/root/") == "http://cds.local:8000/root"
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert with_public_base(plain, "https://h.example/").public_base_url == "https://h.example"
    assert with_public_base(SETTINGS, "https://other/") is SETTINGS
