"""Load the JSON data files once and precompute the lookup tables."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from app.record import ConditionCategory, DrugClass, PlanKind
from app.terminology import text as _t

DATA_DIR = Path(__file__).resolve().parent / "data"

# Which class wins when one text names several relevant ingredients
# ("buprenorphine / naloxone" -> opioid; "butalbital / codeine" -> opioid).
CLASS_PRIORITY = (
    DrugClass.OPIOID,
    DrugClass.BENZODIAZEPINE,
    DrugClass.Z_DRUG,
    DrugClass.GABAPENTINOID,
    DrugClass.BARBITURATE,
    DrugClass.OTHER_CNS_DEPRESSANT,
    DrugClass.RESCUE_NALOXONE,
)


def _read(name: str) -> dict[str, Any]:
    data = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    if not isinstance(data, dict):  # every terminology file is one JSON object
        raise ValueError(f"{name}: not a JSON object")
    return data


def _words(phrases: list[str]) -> re.Pattern[str] | None:
    return _t.name_pattern(phrases) if phrases else None


@dataclass(frozen=True, slots=True)
class Tables:
    version: str
    med_codes: dict[str, dict[str, Any]]
    name_pattern: re.Pattern[str]
    name_to_ingredient: dict[str, str]
    ingredient_class: dict[str, DrugClass]
    class_rank: dict[DrugClass, int]
    periprocedural: frozenset[str]
    periprocedural_parenteral: frozenset[str]
    snomed: dict[str, frozenset[ConditionCategory]]
    icd: dict[str, frozenset[ConditionCategory]]
    condition_keywords: re.Pattern[str]
    keyword_categories: dict[str, frozenset[ConditionCategory]]
    negative_keywords: dict[ConditionCategory, re.Pattern[str]]
    global_negative: re.Pattern[str]
    plan_codes: dict[str, PlanKind]
    plan_qualified_codes: dict[str, frozenset[PlanKind]]
    plan_qualifiers: dict[PlanKind, re.Pattern[str]]
    plan_keywords: re.Pattern[str]
    plan_keyword_kind: dict[str, PlanKind]
    plan_precedence: tuple[PlanKind, ...]
    plan_subject_words: re.Pattern[str]
    plan_subject_classes: dict[str, frozenset[DrugClass]]
    plan_condition_classes: dict[ConditionCategory, frozenset[DrugClass]]
    mme: dict[str, float]
    mme_transdermal: dict[str, float]
    diazepam_eq: dict[str, float]
    diazepam_eq_detail: dict[str, MappingProxyType[str, object]]
    strengths: dict[str, tuple[float, ...]]
    suggestion_codes: dict[str, dict[str, str]]


def _medications(
    meds: dict[str, Any], ingredients: dict[str, Any]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    codes = dict(meds["codes"])
    # Ingredient-level RxCUIs (only those verified in clinical-anchors §2.1) after the SCDs.
    for ing, entry in sorted(ingredients.items()):
        rxcui = entry.get("rxcui")
        if rxcui and rxcui not in codes:
            codes[rxcui] = {
                "class": entry["class"],
                "ingredient": ing,
                "injectable": bool(entry.get("periprocedural_only")),
            }
    names: dict[str, str] = {}
    for brand, ing in meds["brands"].items():
        names[_t.normalize(brand)] = ing
    # Curated names win over brands derived from the CDC displays.
    for ing, entry in ingredients.items():
        for name in [*entry.get("brands", []), *entry.get("aliases", []), ing]:
            names[_t.normalize(name)] = ing
    return codes, names


def _conditions(curated: dict[str, Any], derived: dict[str, Any]) -> dict[str, Any]:
    snomed: dict[str, set[ConditionCategory]] = {}
    icd: dict[str, set[ConditionCategory]] = {}
    keywords: dict[str, set[ConditionCategory]] = {}
    negatives: dict[ConditionCategory, re.Pattern[str]] = {}

    def icd_key(code: str) -> str:
        return code.replace(".", "").upper()

    for name, entry in curated["categories"].items():
        cat = ConditionCategory(name)
        for code in entry["snomed"]:
            snomed.setdefault(code, set()).add(cat)
        for prefix in entry["icd10cm_prefixes"]:
            icd.setdefault(icd_key(prefix), set()).add(cat)
        for kw in entry["keywords"]:
            keywords.setdefault(_t.normalize(kw), set()).add(cat)
        pattern = _words(entry.get("negative_keywords", []))
        if pattern is not None:
            negatives[cat] = pattern
    for name, entry in derived["categories"].items():
        cat = ConditionCategory(name)
        for code in entry["snomed"]:
            snomed.setdefault(code, set()).add(cat)
        for code in entry["icd10cm"]:
            icd.setdefault(icd_key(code), set()).add(cat)
    # The keyword regex matches the longest phrase only, so a phrase also carries the
    # categories of the shorter keywords inside it ("generalized anxiety disorder" -> anxiety).
    for phrase, cats in list(keywords.items()):
        for other, other_cats in list(keywords.items()):
            if other != phrase and re.search(rf"(?<!\w){re.escape(other)}(?!\w)", phrase):
                cats |= other_cats
    global_negative = _words(curated["global_negative_keywords"])
    assert global_negative is not None
    return {
        "snomed": {k: frozenset(v) for k, v in snomed.items()},
        "icd": {k: frozenset(v) for k, v in icd.items()},
        "condition_keywords": _t.name_pattern(keywords),
        "keyword_categories": {k: frozenset(v) for k, v in keywords.items()},
        "negative_keywords": negatives,
        "global_negative": global_negative,
    }


def _plans(plans: dict[str, Any]) -> dict[str, Any]:
    codes: dict[str, PlanKind] = {}
    qualified: dict[str, set[PlanKind]] = {}
    qualifiers: dict[PlanKind, re.Pattern[str]] = {}
    keywords: dict[str, PlanKind] = {}
    for name, entry in plans["kinds"].items():
        kind = PlanKind(name)
        for code in entry["codes"]:
            codes[code] = kind
        words: list[str] = []
        for rule in entry["qualified_codes"]:
            for code in rule["codes"]:
                qualified.setdefault(code, set()).add(kind)
            words.extend(rule["qualifiers"])
        pattern = _words(words)
        if pattern is not None:
            qualifiers[kind] = pattern
        for kw in entry["keywords"]:
            keywords[_t.normalize(kw)] = kind
    return {
        "plan_codes": codes,
        "plan_qualified_codes": {k: frozenset(v) for k, v in qualified.items()},
        "plan_qualifiers": qualifiers,
        "plan_keywords": _t.name_pattern(keywords),
        "plan_keyword_kind": keywords,
        "plan_precedence": tuple(PlanKind(k) for k in plans["precedence"]),
        **_plan_subjects(plans["subjects"]),
    }


def _plan_subjects(subjects: dict[str, Any]) -> dict[str, Any]:
    words = {
        _t.normalize(k): frozenset(DrugClass(c) for c in v) for k, v in subjects["keywords"].items()
    }
    return {
        "plan_subject_words": _t.name_pattern(words),
        "plan_subject_classes": words,
        "plan_condition_classes": {
            ConditionCategory(k): frozenset(DrugClass(c) for c in v)
            for k, v in subjects["condition_categories"].items()
        },
    }


def _dose_equivalents(doc: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    primary: dict[str, float] = {}
    detail: dict[str, MappingProxyType[str, object]] = {}
    for ing, entry in doc["equivalents"].items():
        value = entry.get("va_dod_2021", entry.get("ashton"))
        if isinstance(value, list):  # an Ashton range: use its midpoint
            value = sum(value) / len(value)
        primary[ing] = float(value)
        detail[ing] = MappingProxyType({"approximate": bool(entry.get("approximate")), **entry})
    return primary, detail


def load() -> Tables:
    ingredients = _read("ingredients.json")["ingredients"]
    meds = _read("medications.json")
    mme_doc = _read("mme_factors.json")["factors"]
    codes, names = _medications(meds, ingredients)
    diazepam_eq, diazepam_detail = _dose_equivalents(_read("dose_equivalents.json"))
    header = meds["header"]
    version = (
        f"cdc-opioid-cds-r4@{header['commit'][:12]}"
        f";expansion={max(header['expansion_timestamps'].values())[:10]}"
        f";mme@{_read('mme_factors.json')['header']['commit'][:12]}"
    )
    return Tables(
        version=version,
        med_codes=codes,
        name_pattern=_t.name_pattern(names),
        name_to_ingredient=names,
        ingredient_class={k: DrugClass(v["class"]) for k, v in ingredients.items()},
        class_rank={c: i for i, c in enumerate(CLASS_PRIORITY)},
        periprocedural=frozenset(k for k, v in ingredients.items() if v.get("periprocedural_only")),
        periprocedural_parenteral=frozenset(
            k
            for k, v in ingredients.items()
            if v.get("periprocedural_only") or v.get("parenteral_periprocedural")
        ),
        **_conditions(_read("conditions.json"), _read("condition_codes.json")),
        **_plans(_read("plans.json")),
        mme={k: float(v["factor"]) for k, v in mme_doc.items() if "factor" in v},
        mme_transdermal={
            k: float(v["transdermal_per_mcg_hr"])
            for k, v in mme_doc.items()
            if "transdermal_per_mcg_hr" in v
        },
        diazepam_eq=diazepam_eq,
        diazepam_eq_detail=diazepam_detail,
        strengths={k: tuple(v) for k, v in _read("strengths.json")["strengths"].items()},
        suggestion_codes={
            k: {"system": v["system"], "code": v["code"], "display": v["display"]}
            for k, v in _read("suggestion_codes.json")["codes"].items()
        },
    )


DATA = load()
