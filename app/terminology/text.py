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
_METHADONE_MOUD = re.compile(r"\b(?:tablet for oral suspension|dispersible|diskets?|concentrate)\b")


# An RxNorm-style clinical drug name: a strength in mg and a dose form.
_PRODUCT = re.compile(
    r"\d\s*(?:mg|mcg|ml)\b.*\b(?:tablet|capsule|solution|suspension|injection|injectable|"
    r"spray|system|film|syringe|lozenge|suppository|patch|auto-?injector|cartridge)\b"
)


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
    if _LIST_FOLLOWS.match(text, m.end()) and _LETTER.search(text, pos, m.start(1)):
        # "acetaminophen with hydrocodone bitartrate 325 mg/5 mg": words, then a list of
        # strengths whose owners cannot be paired: no number rather than the wrong one.
        return None, None
    value = float(m.group(1)) * _UNIT_SCALE[m.group(2)]
    value = float(f"{value:.6g}")  # 0.025 stays 0.025 after the mcg -> mg scaling
    return value, "mg" + _PER.get(m.group(3) or "", "")


# Combination products as EHRs display them: ingredient names joined by "-", "/" or "and",
# then one strength per name in the same order ("oxyCODONE-acetaminophen 10-325 MG",
# "HYDROcodone-acetaminophen (NORCO) 5-325 mg per tablet", "buprenorphine-naloxone 8 mg-2 mg").
# "and"/"with" are joins, never name words: one reading per text, so no backtracking blow-up.
_WORDS = r"(?!(?:and|with)\b)[a-z][a-z']*(?: (?!(?:and|with)\b)[a-z][a-z']*)*"
_JOIN = r"(?: ?[-/] ?| and | with )"
# A display is short; looking this far around the name bounds the work on any input.
_WINDOW_BEFORE, _WINDOW_AFTER = 80, 120
_NUMBER = r"\d+(?:\.\d+)?(?![\d.]| ?ml\b)"
_COMBINATION = re.compile(
    rf"(?<![a-z])(?P<names>{_WORDS}(?:{_JOIN}{_WORDS})+) ?(?:\([^()]*\) ?)?"
    rf"(?P<nums>{_NUMBER} ?(?:mg|mcg)?(?: ?[-/] ?{_NUMBER} ?(?:mg|mcg)?)+)\b"
    r"(?: ?/ ?(?P<volume>\d+(?:\.\d+)?)? ?ml\b)?"
)
_SPLIT_NAMES = re.compile(_JOIN)
_NUM_UNIT = re.compile(r"(\d+(?:\.\d+)?) ?(mg|mcg)?")
_LIST_FOLLOWS = re.compile(r" ?[-/] ?\d")
_LETTER = re.compile(r"[a-z]")


def combination_strength(text: str, start: int) -> tuple[float | None, str | None] | None:
    """The strength paired with the ingredient named at ``start`` in a combination display.

    None when the text is not such a display; (None, None) when it is but the names and the
    numbers cannot be paired one to one (a count mismatch or a number without a unit).
    """
    offset = max(0, start - _WINDOW_BEFORE)
    text, start = text[offset : start + _WINDOW_AFTER], start - offset
    for m in _COMBINATION.finditer(text):
        if not m.start("names") <= start < m.end("names"):
            continue
        names = _SPLIT_NAMES.split(m.group("names"))
        offsets, pos = [], m.start("names")
        for name in names:
            pos = text.index(name, pos)
            offsets.append(pos)
            pos += len(name)
        index = max(i for i, off in enumerate(offsets) if off <= start)
        nums = _NUM_UNIT.findall(m.group("nums"))
        units = [u for _, u in nums]
        if len(nums) != len(names) or not units[-1]:
            return None, None
        value = float(nums[index][0]) * _UNIT_SCALE[units[index] or units[-1]]
        unit = "mg"
        if m.group("volume") is not None or m.group(0).endswith("ml"):
            volume = float(m.group("volume") or 1)
            if volume <= 0:
                return None, None
            value, unit = value / volume, "mg/ml"
        return float(f"{value:.6g}"), unit
    return None


def ingredient_strength(text: str, start: int, end: int) -> tuple[float | None, str | None]:
    """Strength of the ingredient named at ``text[start:end]``: combination displays first."""
    paired = combination_strength(text, start)
    return paired if paired is not None else strength_after(text, end)


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
        return (
            unit == "mg/ml"
            and strength is not None
            and strength >= 50.0
            and is_injectable_text(text)
        )
    if ingredient == "methadone":
        if _METHADONE_MOUD.search(text):
            return True
        return (
            unit == "mg/ml"
            and strength is not None
            and strength >= 10.0
            and "oral" in text
            and not is_injectable_text(text)
        )
    return False
