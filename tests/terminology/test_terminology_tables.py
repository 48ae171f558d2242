"""MME factors, diazepam equivalents, oral strengths, suggestion codes."""

from __future__ import annotations

import pytest

from app.terminology import (
    VALUESET_VERSION,
    diazepam_equivalent,
    diazepam_equivalent_detail,
    mme_factor,
    oral_strengths,
    suggestion_code,
)


@pytest.mark.parametrize(
    ("ingredient", "factor"),
    [
        ("codeine", 0.15),
        ("hydrocodone", 1.0),
        ("hydromorphone", 5.0),
        ("methadone", 4.7),
        ("morphine", 1.0),
        ("oxycodone", 1.5),
        ("oxymorphone", 3.0),
        ("tapentadol", 0.4),
        ("tramadol", 0.2),
        ("oxyCODONE Hydrochloride", 1.5),
        ("Morphine Sulfate", 1.0),
    ],
)
def test_mme_cdc_2022(ingredient: str, factor: float) -> None:
    assert mme_factor(ingredient) == factor


def test_mme_fentanyl_and_gaps() -> None:
    assert mme_factor("fentanyl", transdermal=True) == 2.4  # 25 mcg/h -> 60 MME/day
    assert mme_factor("fentanyl") is None
    assert mme_factor("buprenorphine") is None
    assert mme_factor("buprenorphine", transdermal=True) is None
    assert mme_factor("oxycodone", transdermal=True) is None
    assert mme_factor("alprazolam") is None
    assert mme_factor("not a drug") is None


@pytest.mark.parametrize(
    ("ingredient", "mg"),
    [
        ("alprazolam", 1.0),
        ("clonazepam", 1.0),
        ("lorazepam", 2.0),
        ("diazepam", 10.0),
        ("chlordiazepoxide", 25.0),
        ("oxazepam", 30.0),
        ("temazepam", 15.0),
        ("triazolam", 0.25),
        ("clorazepate", 15.0),
        ("quazepam", 10.0),
        ("estazolam", 1.0),
        ("flurazepam", 15.0),
        ("zolpidem", 20.0),
        ("zaleplon", 20.0),
        ("clobazam", 20.0),
        ("LORazepam", 2.0),
    ],
)
def test_diazepam_equivalents(ingredient: str, mg: float) -> None:
    assert diazepam_equivalent(ingredient) == mg


def test_diazepam_equivalent_gaps_and_detail() -> None:
    assert diazepam_equivalent("eszopiclone") is None
    assert diazepam_equivalent("midazolam") is None
    assert diazepam_equivalent("oxycodone") is None
    detail = diazepam_equivalent_detail("zolpidem")
    assert detail is not None and detail["approximate"] is True and detail["ashton"] == 20.0
    detail = diazepam_equivalent_detail("alprazolam")
    assert detail is not None and detail["approximate"] is False and detail["ashton"] == 0.5


@pytest.mark.parametrize(
    ("ingredient", "strengths"),
    [
        ("alprazolam", (0.25, 0.5, 1.0, 2.0)),
        ("lorazepam", (0.5, 1.0, 2.0, 2.5)),
        ("clonazepam", (0.125, 0.25, 0.5, 1.0, 2.0)),
        ("diazepam", (2.0, 5.0, 10.0)),
        ("temazepam", (7.5, 10.0, 15.0, 20.0, 22.5, 30.0)),
        ("zolpidem", (5.0, 7.5, 10.0)),
        ("eszopiclone", (1.0, 2.0, 3.0)),
        ("oxycodone", ()),
        ("unknown", ()),
    ],
)
def test_oral_strengths(ingredient: str, strengths: tuple[float, ...]) -> None:
    assert oral_strengths(ingredient) == strengths


def test_suggestion_codes() -> None:
    nal = suggestion_code("rescue-naloxone")
    assert nal == {
        "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
        "code": "1725059",
        "display": "naloxone hydrochloride 40 MG/ML Nasal Spray",
    }
    nal["code"] = "changed"
    assert suggestion_code("rescue-naloxone")["code"] == "1725059"
    for key in ("cbti-referral", "taper-careplan", "medication-review"):
        assert set(suggestion_code(key)) == {"system", "code", "display"}
    with pytest.raises(KeyError):
        suggestion_code("no-such-thing")


def test_valueset_version() -> None:
    assert VALUESET_VERSION.startswith("cdc-opioid-cds-r4@b29bdcbf6db6;expansion=2025-")
    assert "mme@1357f45424c4" in VALUESET_VERSION
