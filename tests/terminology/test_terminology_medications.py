"""classify_medication: RxNorm code first, then names (tall-man, salts, combos, brands)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.record import DrugClass
from app.terminology import DrugInfo, classify_medication

RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"
DATA = Path(__file__).resolve().parents[2] / "app" / "terminology" / "data"
B, Z, O, G = DrugClass.BENZODIAZEPINE, DrugClass.Z_DRUG, DrugClass.OPIOID, DrugClass.GABAPENTINOID  # noqa: E741
BAR, CNS, NAL = DrugClass.BARBITURATE, DrugClass.OTHER_CNS_DEPRESSANT, DrugClass.RESCUE_NALOXONE


def _code(code: str, system: str | None = RX) -> DrugInfo | None:
    return classify_medication([(system, code, None)], None)


# (code, class, ingredient, strength, unit, injectable, moud)
CODE_CASES = [
    ("197321", B, "alprazolam", 1.0, "mg", False, False),
    ("308048", B, "alprazolam", 0.5, "mg", False, False),
    ("311376", B, "lorazepam", 2.0, "mg/ml", False, False),
    ("311700", B, "midazolam", 1.0, "mg/ml", True, False),
    ("2173494", B, "midazolam", 50.0, "mg/ml", False, False),  # nasal spray
    ("1807452", B, "diazepam", 5.0, "mg/ml", True, False),  # auto-injector
    ("856792", B, "chlordiazepoxide", 10.0, "mg", False, False),  # amitriptyline combo
    ("2383946", B, "remimazolam", 20.0, "mg", True, False),
    ("854873", Z, "zolpidem", 10.0, "mg", False, False),
    ("854880", Z, "zolpidem", 12.5, "mg", False, False),
    ("313761", Z, "zaleplon", 10.0, "mg", False, False),
    ("349482", CNS, "oxybate", 500.0, "mg/ml", False, False),
    ("542347", CNS, "isoflurane", 999.0, "mg/ml", True, False),  # periprocedural only
    ("857005", O, "hydrocodone", 7.5, "mg", False, False),
    ("1049221", O, "oxycodone", 5.0, "mg", False, False),
    ("245134", O, "fentanyl", 0.025, "mg/hr", False, False),
    ("1860154", O, "oxycodone", 15.0, "mg", False, False),
    ("993781", O, "codeine", 30.0, "mg", False, False),
    ("1433802", O, "codeine", 30.0, "mg", False, False),  # Fioricet with Codeine
    ("351265", O, "buprenorphine", 8.0, "mg", False, True),
    ("351266", O, "buprenorphine", 2.0, "mg", False, True),  # bup/naloxone, not rescue
    ("1010606", O, "buprenorphine", 8.0, "mg", False, True),  # Suboxone film
    ("1996189", O, "buprenorphine", 200.0, "mg/ml", True, True),  # Sublocade
    ("1797650", O, "buprenorphine", 74.2, "mg", False, True),  # implant
    ("246474", O, "buprenorphine", 0.2, "mg", False, False),  # 0.2 mg SL: analgesic
    ("904870", O, "buprenorphine", 0.01, "mg/hr", False, False),  # Butrans
    ("1716057", O, "buprenorphine", 0.15, "mg", False, False),  # Belbuca
    ("238129", O, "buprenorphine", 0.3, "mg/ml", True, False),  # Buprenex
    ("312289", O, "pentazocine", 50.0, "mg", False, False),  # pentazocine/naloxone
    ("864706", O, "methadone", 10.0, "mg", False, False),
    ("991147", O, "methadone", 10.0, "mg/ml", False, True),  # oral concentrate
    ("864978", O, "methadone", 40.0, "mg", False, True),  # dispersible
    ("864761", O, "methadone", 1.0, "mg/ml", False, False),
    ("864714", O, "methadone", 10.0, "mg/ml", True, False),  # injection
    ("198083", BAR, "phenobarbital", 100.0, "mg", False, False),
    ("238154", BAR, "butalbital", 50.0, "mg", False, False),
    ("1725059", NAL, "naloxone", 40.0, "mg/ml", False, False),
    ("1191222", NAL, "naloxone", 0.4, "mg/ml", True, False),
    ("1855730", NAL, "naloxone", 5.0, "mg/ml", True, False),  # auto-injector
]


@pytest.mark.parametrize(("code", "cls", "ing", "strength", "unit", "inj", "moud"), CODE_CASES)
def test_code_first(
    code: str, cls: DrugClass, ing: str, strength: float, unit: str, inj: bool, moud: bool
) -> None:
    info = _code(code)
    assert info == DrugInfo(cls, ing, strength, unit, inj, moud, "code")


@pytest.mark.parametrize("code", ["803350", "1302833", "977860", "904368", "978654", "979549"])
def test_anorectic_stimulants_are_not_cns_depressants(code: str) -> None:
    assert _code(code) is None


@pytest.mark.parametrize(
    ("code", "ing", "cls"),
    [
        ("596", "alprazolam", B),
        ("6470", "lorazepam", B),
        ("2598", "clonazepam", B),
        ("39993", "zolpidem", Z),
        ("25480", "gabapentin", G),
        ("187832", "pregabalin", G),
        ("7804", "oxycodone", O),
        ("7242", "naloxone", NAL),
        ("2101", "carisoprodol", CNS),
    ],
)
def test_ingredient_rxcui(code: str, ing: str, cls: DrugClass) -> None:
    info = _code(code)
    assert info is not None
    assert (info.drug_class, info.ingredient, info.strength_mg, info.matched_by) == (
        cls,
        ing,
        None,
        "code",
    )


def test_code_wins_over_display_and_system_may_be_missing() -> None:
    info = classify_medication([(None, "197321", "something else entirely")], "Xanax 2 mg")
    assert info is not None and info.matched_by == "code" and info.strength_mg == 1.0


def test_non_rxnorm_code_is_not_looked_up() -> None:
    # 197321 is alprazolam in RxNorm; under NDC it means nothing to us.
    assert classify_medication([(NDC, "197321", None)], None) is None
    info = classify_medication([(NDC, "0009-0029-01", "Xanax 0.25 MG Oral Tablet")], None)
    assert info is not None and info.matched_by == "name" and info.strength_mg == 0.25


# (display/text, class, ingredient, strength, unit, injectable, moud)
NAME_CASES = [
    ("clonazePAM 0.5 MG Oral Tablet", B, "clonazepam", 0.5, "mg", False, False),
    ("ALPRAZolam 0.25 MG Oral Tablet", B, "alprazolam", 0.25, "mg", False, False),
    ("LORazepam 2 MG/ML Injectable Solution", B, "lorazepam", 2.0, "mg/ml", True, False),
    ("Diazepam [Valium]", B, "diazepam", None, None, False, False),
    ("Clonazepam [Klonopin]", B, "clonazepam", None, None, False, False),
    ("Midazolam 1 MG/ML Injectable Solution", B, "midazolam", 1.0, "mg/ml", True, False),
    ("2 ML midazolam 5 MG/ML Prefilled Syringe", B, "midazolam", 5.0, "mg/ml", True, False),
    ("Ativan 1 mg tablet", B, "lorazepam", 1.0, "mg", False, False),
    ("Xanax", B, "alprazolam", None, None, False, False),
    ("Restoril 15 MG capsule", B, "temazepam", 15.0, "mg", False, False),
    ("Ambien 10 mg", Z, "zolpidem", 10.0, "mg", False, False),
    (
        "zolpidem tartrate 12.5 MG Extended Release Oral Tablet",
        Z,
        "zolpidem",
        12.5,
        "mg",
        False,
        False,
    ),
    ("Lunesta 2 mg", Z, "eszopiclone", 2.0, "mg", False, False),
    ("eszopiclone 3 MG Oral Tablet", Z, "eszopiclone", 3.0, "mg", False, False),
    ("Sonata 5 mg", Z, "zaleplon", 5.0, "mg", False, False),
    ("gabapentin 300 MG Oral Capsule", G, "gabapentin", 300.0, "mg", False, False),
    ("Neurontin", G, "gabapentin", None, None, False, False),
    ("Lyrica 75 mg", G, "pregabalin", 75.0, "mg", False, False),
    ("carisoprodol 350 MG Oral Tablet", CNS, "carisoprodol", 350.0, "mg", False, False),
    (
        "Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet",
        O,
        "hydrocodone",
        7.5,
        "mg",
        False,
        False,
    ),
    (
        "Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet",
        O,
        "oxycodone",
        5.0,
        "mg",
        False,
        False,
    ),
    ("Acetaminophen/Hydrocodone", O, "hydrocodone", None, None, False, False),
    ("Morphine Sulfate 15 MG Oral Tablet", O, "morphine", 15.0, "mg", False, False),
    ("1 ML Morphine Sulfate 5 MG/ML Injection", O, "morphine", 5.0, "mg/ml", True, False),
    ("72 HR fentaNYL 0.025 MG/HR Transdermal System", O, "fentanyl", 0.025, "mg/hr", False, False),
    ("fentanyl 25 mcg/hr patch", O, "fentanyl", 0.025, "mg/hr", False, False),
    ("Remifentanil", O, "remifentanil", None, None, True, False),
    ("Meperidine Hydrochloride 50 MG Oral Tablet", O, "meperidine", 50.0, "mg", False, False),
    ("Norco 10-325", O, "hydrocodone", None, None, False, False),
    ("Percocet 5/325", O, "oxycodone", None, None, False, False),
    ("Vicodin", O, "hydrocodone", None, None, False, False),
    ("OxyContin 20 mg 12 hr tablet", O, "oxycodone", 20.0, "mg", False, False),
    (
        "benzhydrocodone 6.12 MG / acetaminophen 325 MG",
        O,
        "benzhydrocodone",
        6.12,
        "mg",
        False,
        False,
    ),
    (
        "acetaminophen 300 MG / dihydrocodeine bitartrate 16 MG",
        O,
        "dihydrocodeine",
        16.0,
        "mg",
        False,
        False,
    ),
    (
        "buprenorphine 8 MG / naloxone 2 MG Sublingual Film",
        O,
        "buprenorphine",
        8.0,
        "mg",
        False,
        True,
    ),
    ("Suboxone 8-2 mg film", O, "buprenorphine", None, None, False, True),
    ("buprenorphine 8 mg SL tablet", O, "buprenorphine", 8.0, "mg", False, True),
    ("methadone 10 MG/ML oral concentrate", O, "methadone", 10.0, "mg/ml", False, True),
    ("methadone hydrochloride 10 MG Oral Tablet", O, "methadone", 10.0, "mg", False, False),
    ("pentazocine 50 MG / naloxone 0.5 MG Oral Tablet", O, "pentazocine", 50.0, "mg", False, False),
    ("naloxone hydrochloride 40 MG/ML Nasal Spray", NAL, "naloxone", 40.0, "mg/ml", False, False),
    ("Narcan 4 MG nasal spray", NAL, "naloxone", 4.0, "mg", False, False),
    (
        "0.4 ML naloxone hydrochloride 5 MG/ML Auto-Injector",
        NAL,
        "naloxone",
        5.0,
        "mg/ml",
        True,
        False,
    ),
    ("Kloxxado", NAL, "naloxone", None, None, False, False),
    ("phenobarbital 30 MG Oral Tablet", BAR, "phenobarbital", 30.0, "mg", False, False),
    ("Isoflurane 999 MG/ML Inhalant Solution", CNS, "isoflurane", 999.0, "mg/ml", True, False),
]


@pytest.mark.parametrize(("text", "cls", "ing", "strength", "unit", "inj", "moud"), NAME_CASES)
def test_name_fallback(
    text: str,
    cls: DrugClass,
    ing: str,
    strength: float | None,
    unit: str | None,
    inj: bool,
    moud: bool,
) -> None:
    expected = DrugInfo(cls, ing, strength, unit, inj, moud, "name")
    assert classify_medication([], text) == expected
    # The same string as a coding display with an unknown code classifies the same way.
    assert classify_medication([(RX, "999999999", text)], None) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Amoxicillin 500 MG Oral Tablet",
        "naltrexone 50 MG Oral Tablet",
        "Hydrochlorothiazide 25 MG",
        "phentermine hydrochloride 37.5 MG Oral Capsule",
        "Acetaminophen 325 MG Oral Tablet",
        "Simvistatin 10 MG",
        "Propofol 10 MG/ML",
        "",
        "dextromethorphan",
    ],
)
def test_not_relevant_is_none(text: str) -> None:
    assert classify_medication([(RX, "308192", text)], text) is None


def test_first_relevant_string_wins_and_text_is_last() -> None:
    info = classify_medication([(RX, "1", "Amoxicillin"), (RX, "2", "Ativan 0.5 mg")], "Xanax")
    assert info is not None and info.ingredient == "lorazepam"
    info = classify_medication([(RX, "1", "Amoxicillin")], "Xanax 1 mg")
    assert info is not None and info.ingredient == "alprazolam" and info.strength_mg == 1.0


def test_generated_data_invariants() -> None:
    codes = json.loads((DATA / "medications.json").read_text())["codes"]
    for code, entry in codes.items():
        display = entry["display"].lower()
        assert not any(
            s in display
            for s in (
                "phentermine",
                "benzphetamine",
                "diethylpropion",
                "phendimetrazine",
                "methamphetamine",
            )
        ), code
        if entry["class"] == "rescue-naloxone":
            assert "buprenorphine" not in display and "pentazocine" not in display, code
        if entry.get("moud"):
            assert entry["ingredient"] in ("buprenorphine", "methadone"), code
        assert entry["ingredient"] in display, code


@pytest.mark.parametrize(
    ("code", "display", "expected"),
    [
        ("833036", "Captopril 25 MG Oral Tablet", None),  # Synthea mis-coding
        ("857005", "Acetaminophen 325 MG Oral Tablet", None),
        ("857002", "APAP/HC 5/325", ("hydrocodone", "code")),  # abbreviation: keep code
        ("857002", "Norco 5-325 mg oral tablet", ("hydrocodone", "code")),
        ("197321", "ALPRAZolam 1 MG Oral Tablet", ("alprazolam", "code")),
        ("197321", "Xanax 2 MG Oral Tablet", ("alprazolam", "code")),
        ("197321", "Diazepam 5 MG Oral Tablet", ("diazepam", "name")),  # display names another drug
    ],
)
def test_code_display_contradiction(
    code: str, display: str, expected: tuple[str, str] | None
) -> None:
    info = classify_medication([(RX, code, display)], display)
    assert (None if info is None else (info.ingredient, info.matched_by)) == expected
