"""Text rules shared by the build script and the runtime: names, strengths, dose forms, MOUD.

Pure functions with no data-file dependency, so ``scripts/build_terminology.py`` can load this
module by path before any data file exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# "0.5 MG", "2 MG/ML", "0.025 MG/HR", "5 MG/ACTUAT", "25 mcg/h", "0.5mg".
_STRENGTH_AFTER = re.compile(
    r"(?:[\s,]+(?:[a-z][a-z\-]*|\([a-z ]+\))){0,3}?"  # salt words: "hydrochloride", "bitartrate"
    r"\s*(\d+(?:\.\d+)?)\s*(mg|mcg|µg|ug|g)\b"
    r"(?:\s*/\s*(ml|hr|h|actuat|mg)\b)?"
)
_UNIT_SCALE = {"mg": 1.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001, "g": 1000.0}
_PER = {"ml": "/ml", "hr": "/hr", "h": "/hr", "actuat": "/actuat", "mg": "/mg"}

# RxNorm parenteral dose forms plus common free-text words. Nasal sprays are not parenteral.
_INJECTABLE = re.compile(
    r"\b(?:injection|injectable|prefilled syringe|auto-?injector|cartridge|intravenous|"
    r"intramuscular|subcutaneous|iv push|iv infusion)\b"
)
_MOUD_BRANDS = re.compile(r"\b(?:suboxone|subutex|zubsolv|bunavail|sublocade|brixadi|probuphine)\b")
_SUBLINGUAL = re.compile(r"\b(?:sublingual|sl)\b")
_METHADONE_MOUD = re.compile(
    r"\b(?:tablet for oral suspension|dispersible|diskets?|concentrate)\b")


# An RxNorm-style clinical drug name: a strength in mg and a dose form.
_PRODUCT = re.compile(
    r"\d\s*(?:mg|mcg|ml)\b.*\b(?:tablet|capsule|solution|suspension|injection|injectable|"
    r"spray|system|film|syringe|lozenge|suppository|patch|auto-?injector|cartridge)\b")


def is_product_description(text: str) -> bool:
    """True for a full product name such as "Captopril 25 MG Oral Tablet"."""
    return _PRODUCT.search(normalize(text)) is not None


def normalize(text: str) -> str:
    """Lower-case (undoes tall-man lettering) and unify apostrophes and whitespace."""
    return " ".join(text.replace("\u2019", "'").lower().split())


def name_pattern(names: Iterable[str]) -> re.Pattern[str]:
    """One alternation over all names, longest first, on word boundaries."""
    ordered = sorted({normalize(n) for n in names if n}, key=lambda n: (-len(n), n))
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in ordered) + r")(?![\w])")


def strength_after(text: str, pos: int) -> tuple[float | None, str | None]:
    """Strength written right after an ingredient name ending at ``pos`` (text normalized)."""
    m = _STRENGTH_AFTER.match(text, pos)
    if m is None:
        return None, None
    value = float(m.group(1)) * _UNIT_SCALE[m.group(2)]
    value = float(f"{value:.6g}")  # 0.025 stays 0.025 after the mcg -> mg scaling
    return value, "mg" + _PER.get(m.group(3) or "", "")


def is_injectable_text(text: str) -> bool:
    return _INJECTABLE.search(text) is not None


def is_moud_text(ingredient: str, text: str, strength: float | None, unit: str | None) -> bool:
    """Buprenorphine/methadone products typical of opioid-use-disorder treatment.

    Buprenorphine: any naloxone combination, sublingual mono products >= 2 mg (0.2/0.4 mg
    sublingual tablets are analgesic), implants, extended-release depot injections
    (>= 50 mg/mL) and OUD brands; not patches, Belbuca buccal film or 0.3 mg/mL injection.
    Methadone: oral concentrate (>= 10 mg/mL oral solution) and 40 mg dispersible tablets;
    5/10 mg tablets and dilute solutions are treated as analgesic.
    """
    if ingredient == "buprenorphine":
        if "naloxone" in text or _MOUD_BRANDS.search(text) or "implant" in text:
            return True
        if _SUBLINGUAL.search(text):
            return strength is None or (unit == "mg" and strength >= 2.0)
        return unit == "mg/ml" and strength is not None and strength >= 50.0 \
            and is_injectable_text(text)
    if ingredient == "methadone":
        if _METHADONE_MOUD.search(text):
            return True
        return (unit == "mg/ml" and strength is not None and strength >= 10.0
                and "oral" in text and not is_injectable_text(text))
    return False
