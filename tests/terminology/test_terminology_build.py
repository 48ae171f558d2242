"""The build script reproduces the committed data files byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "terminology" / "source"
DATA = ROOT / "app" / "terminology" / "data"
GENERATED = ("medications.json", "strengths.json", "mme_factors.json", "condition_codes.json")

needs_source = pytest.mark.skipif(
    not (SOURCE / "cqframework-opioid-cds-r4").is_dir(),
    reason=f"CDC source data not present at {SOURCE}",
)


@needs_source
def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_terminology.py"),
            str(SOURCE),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


@needs_source
def test_headers_match_source_readme() -> None:
    readme = (SOURCE / "README.md").read_text()
    for name in GENERATED:
        header = json.loads((DATA / name).read_text())["header"]
        assert header["commit"] in readme
        assert header["generated_by"] == "scripts/build_terminology.py"
        assert header["license"] and header["source"]["repository"]


@needs_source
def test_rescue_naloxone_suggestion_display_is_cdc() -> None:
    vs = json.loads(
        (SOURCE / "cqframework-opioid-cds-r4" / "naloxone-medications.json").read_text()
    )
    displays = {c["code"]: c["display"] for c in vs["expansion"]["contains"]}
    code = json.loads((DATA / "suggestion_codes.json").read_text())["codes"]["rescue-naloxone"]
    assert displays[code["code"]] == code["display"]


@needs_source
def test_every_cdc_medication_code_is_classified_as_expected() -> None:
    from app.record import DrugClass
    from app.terminology import classify_medication

    base = SOURCE / "cqframework-opioid-cds-r4"

    def codes(name: str) -> list[dict[str, str]]:
        return json.loads((base / f"{name}.json").read_text())["expansion"]["contains"]

    def cls(code: str) -> DrugClass | None:
        info = classify_medication(
            [("http://www.nlm.nih.gov/research/umls/rxnorm", code, None)], None
        )
        return info.drug_class if info else None

    for c in codes("benzodiazepine-medications"):
        assert cls(c["code"]) == DrugClass.BENZODIAZEPINE, c
    for c in codes("opioid-analgesics-with-ambulatory-misuse-potential"):
        assert cls(c["code"]) == DrugClass.OPIOID, c
    for c in codes("naloxone-medications"):
        combo = "buprenorphine" in c["display"] or "pentazocine" in c["display"]
        assert cls(c["code"]) == (DrugClass.OPIOID if combo else DrugClass.RESCUE_NALOXONE), c
    for c in codes("cns-depressant-medications"):
        d = c["display"].lower()
        if any(
            s in d
            for s in (
                "phentermine",
                "benzphetamine",
                "diethylpropion",
                "phendimetrazine",
                "methamphetamine",
            )
        ):
            assert cls(c["code"]) is None, c
        elif "zolpidem" in d or "zaleplon" in d:
            assert cls(c["code"]) == DrugClass.Z_DRUG, c
        else:
            assert cls(c["code"]) == DrugClass.OTHER_CNS_DEPRESSANT, c
