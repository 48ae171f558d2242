"""Combination products: the opioid's strength is the number paired with the opioid's name."""

from __future__ import annotations

import pytest

from app.terminology import classify_medication

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.mark.parametrize(
    ("display", "ingredient", "strength", "unit"),
    [
        # Epic order displays (generic-brand, tall-man lettering, strengths in name order)
        ("oxyCODONE-acetaminophen 10-325 MG", "oxycodone", 10.0, "mg"),
        ("HYDROcodone-acetaminophen 5-325 MG", "hydrocodone", 5.0, "mg"),
        ("HYDROcodone-acetaminophen (NORCO) 5-325 MG per tablet", "hydrocodone", 5.0, "mg"),
        ("oxyCODONE-acetaminophen (PERCOCET) 7.5-325 mg per tablet", "oxycodone", 7.5, "mg"),
        ("acetaminophen-codeine (TYLENOL #3) 300-30 MG per tablet", "codeine", 30.0, "mg"),
        ("traMADol-acetaminophen 37.5-325 mg", "tramadol", 37.5, "mg"),
        ("HYDROcodone-ibuprofen 7.5-200 MG per tablet", "hydrocodone", 7.5, "mg"),
        ("buprenorphine-naloxone (SUBOXONE) 8-2 mg sublingual film", "buprenorphine", 8.0, "mg"),
        (
            "butalbital-acetaminophen-caffeine-codeine 50-300-40-30 mg capsule",
            "codeine",
            30.0,
            "mg",
        ),
        # Oracle Health (Cerner) displays carry a unit per number
        ("HYDROcodone-acetaminophen 5 mg-325 mg oral tablet", "hydrocodone", 5.0, "mg"),
        ("acetaminophen-HYDROcodone 325 mg-5 mg oral tablet", "hydrocodone", 5.0, "mg"),
        # written out with "and" / "with"; the opioid second
        ("acetaminophen and hydrocodone bitartrate 325 mg/5 mg", "hydrocodone", 5.0, "mg"),
        ("acetaminophen with codeine 300 mg/30 mg", "codeine", 30.0, "mg"),
        # oral solution: strength per the stated volume
        ("HYDROcodone-acetaminophen 7.5-325 mg/15 mL oral solution", "hydrocodone", 0.5, "mg/ml"),
        # RxNorm clinical drug names keep working
        (
            "Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet",
            "hydrocodone",
            7.5,
            "mg",
        ),
        ("hydrocodone 10mg/325mg", "hydrocodone", 10.0, "mg"),
    ],
)
def test_combination_display_gives_the_opioid_strength(
    display: str, ingredient: str, strength: float, unit: str
) -> None:
    info = classify_medication([], display)
    assert info is not None
    assert (info.ingredient, info.strength_mg, info.strength_unit) == (ingredient, strength, unit)


@pytest.mark.parametrize(
    "display",
    [
        "Norco 5/325",  # a brand with two numbers: whose is which?
        "HYDROcodone-acetaminophen 5-325",  # no unit
        "hydrocodone bitartrate 10 mg/325 mg",  # a salt word, then a list: not paired
        "acetaminophen-codeine 300-30-8 mg",  # three numbers for two names
    ],
)
def test_unpairable_strengths_are_not_guessed(display: str) -> None:
    info = classify_medication([], display)
    assert info is not None and info.strength_mg is None


def test_rxnorm_code_first_display_second() -> None:
    # An SCD code carries its own strength; the display does not override it.
    coded = classify_medication([(RX, "1049214", "oxyCODONE-acetaminophen 5-325 MG")], None)
    assert coded is not None and (coded.matched_by, coded.strength_mg) == ("code", 10.0)
    # An ingredient-level code has none: the display supplies it for that ingredient.
    ingredient = classify_medication([(RX, "7804", "oxyCODONE-acetaminophen 10-325 MG")], None)
    assert ingredient is not None
    assert (ingredient.matched_by, ingredient.ingredient, ingredient.strength_mg) == (
        "code",
        "oxycodone",
        10.0,
    )
    bare = classify_medication([(RX, "7804", None)], None)
    assert bare is not None and bare.strength_mg is None


def test_a_long_display_is_read_around_the_name() -> None:
    padded = "note " * 5000 + "oxyCODONE-acetaminophen 10-325 MG" + " note" * 5000
    info = classify_medication([], padded)
    assert info is not None and (info.ingredient, info.strength_mg) == ("oxycodone", 10.0)
