"""Terminology: which drug class, condition category or plan a FHIR coding/text denotes.

All tables are loaded once at import from ``app/terminology/data/*.json`` into dicts and
frozensets; every lookup is O(1) per coding (ICD-10-CM: one probe per prefix length).
Non-relevant medications (e.g. amoxicillin) classify as ``None``, never ``DrugClass.OTHER``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from app.record import ConditionCategory, DrugClass, PlanKind
from app.terminology import text as _t
from app.terminology._data import DATA as _D

__all__ = [
    "VALUESET_VERSION",
    "Coding",
    "DrugInfo",
    "classify_condition",
    "classify_medication",
    "classify_plan",
    "diazepam_equivalent",
    "diazepam_equivalent_detail",
    "mme_factor",
    "oral_strengths",
    "periprocedural_parenteral",
    "plan_subjects",
    "suggestion_code",
]

Coding = tuple[str | None, str | None, str | None]  # (system, code, display)

VALUESET_VERSION: str = _D.version


@dataclass(frozen=True, slots=True)
class DrugInfo:
    """What a medication order is, for the rules."""

    drug_class: DrugClass
    ingredient: str | None
    strength_mg: float | None
    strength_unit: str | None
    is_injectable: bool
    is_moud: bool
    matched_by: Literal["code", "name"]


def _is_rxnorm(system: str | None) -> bool:
    return system is None or "rxnorm" in system.lower()


_BY_CODE: dict[str, DrugInfo] = {
    code: DrugInfo(
        DrugClass(e["class"]),
        e["ingredient"],
        e.get("strength"),
        e.get("unit"),
        bool(e.get("injectable")),
        bool(e.get("moud")),
        "code",
    )
    for code, e in _D.med_codes.items()
}


def _by_name(text: str) -> DrugInfo | None:
    norm = _t.normalize(text)
    best: tuple[int, str, int, int] | None = None
    for m in _D.name_pattern.finditer(norm):
        ingredient = _D.name_to_ingredient[m.group(0)]
        rank = _D.class_rank[_D.ingredient_class[ingredient]]
        if best is None or rank < best[0]:
            best = (rank, ingredient, m.start(), m.end())
    if best is None:
        return None
    _, ingredient, start, end = best
    strength, unit = _t.ingredient_strength(norm, start, end)
    return DrugInfo(
        drug_class=_D.ingredient_class[ingredient],
        ingredient=ingredient,
        strength_mg=strength,
        strength_unit=unit,
        is_injectable=_t.is_injectable_text(norm) or ingredient in _D.periprocedural,
        is_moud=_t.is_moud_text(ingredient, norm, strength, unit),
        matched_by="name",
    )


_by_name_cached = lru_cache(maxsize=4096)(_by_name)


@lru_cache(maxsize=4096)
def _named_ingredients(text: str) -> frozenset[str]:
    return frozenset(
        _D.name_to_ingredient[m.group(0)] for m in _D.name_pattern.finditer(_t.normalize(text))
    )


def _contradicts(info: DrugInfo, strings: list[str]) -> bool:
    """A full product description that does not name the code's ingredient.

    Guards against mis-coded orders (Synthea 2019 codes "Captopril 25 MG Oral Tablet" with
    RxCUI 833036, an acetaminophen/hydrocodone tablet); abbreviations keep the code.
    """
    if info.ingredient is None or not strings:
        return False
    if any(info.ingredient in _named_ingredients(s) for s in strings):
        return False
    return any(_t.is_product_description(s) for s in strings)


def _strength_from_names(ingredient: str | None, displays: list[str]) -> tuple[float, str] | None:
    for candidate in displays:
        info = _by_name_cached(candidate)
        if (
            info is not None
            and info.ingredient == ingredient
            and info.strength_mg is not None
            and info.strength_unit is not None
        ):
            return info.strength_mg, info.strength_unit
    return None


def classify_medication(codings: Iterable[Coding], text: str | None) -> DrugInfo | None:
    """RxNorm code first (CDC expansions, then ingredient RxCUIs), then names in display/text.

    Returns None for drugs outside the classes the rules care about.
    """
    displays: list[str] = []
    coded: DrugInfo | None = None
    for system, code, display in codings:
        if coded is None and code and _is_rxnorm(system):
            coded = _BY_CODE.get(code.strip())
        if display:
            displays.append(display)
    if text:
        displays.append(text)
    if coded is not None and not _contradicts(coded, displays):
        if coded.strength_mg is None:
            # An ingredient-level RxCUI carries no strength: take the one the display pairs
            # with the same ingredient ("oxyCODONE-acetaminophen 10-325 MG" -> 10 mg).
            named = _strength_from_names(coded.ingredient, displays)
            if named is not None:
                return replace(coded, strength_mg=named[0], strength_unit=named[1])
        return coded
    for candidate in displays:
        info = _by_name_cached(candidate)
        if info is not None:
            return info
    return None


def _icd_categories(code: str) -> frozenset[ConditionCategory]:
    norm = code.replace(".", "").replace(" ", "").upper()
    found: set[ConditionCategory] = set()
    table = _D.icd
    for length in range(len(norm), 2, -1):
        hit = table.get(norm[:length])
        if hit:
            found |= hit
    return frozenset(found)


def _kind_of_system(system: str | None, code: str) -> str:
    if system:
        s = system.lower()
        if "snomed" in s:
            return "snomed"
        if "icd-10" in s or "icd10" in s:
            return "icd"
        return "other"
    # No system: SNOMED ids are digits only; ICD-10-CM codes start with a letter.
    return "snomed" if code.isdigit() else ("icd" if code[:1].isalpha() else "other")


def _keyword_categories(text: str) -> set[ConditionCategory]:
    norm = _t.normalize(text)
    if _D.global_negative.search(norm):
        return set()
    found: set[ConditionCategory] = set()
    for m in _D.condition_keywords.finditer(norm):
        found |= _D.keyword_categories[m.group(0)]
    for category in list(found):
        negative = _D.negative_keywords.get(category)
        if negative is not None and negative.search(norm):
            found.discard(category)
    return found


_keyword_categories_cached = lru_cache(maxsize=4096)(_keyword_categories)


def classify_condition(codings: Iterable[Coding], text: str | None) -> frozenset[ConditionCategory]:
    """SNOMED exact codes, ICD-10-CM by prefix, plus keywords in display/text (union)."""
    found: set[ConditionCategory] = set()
    for system, code, display in codings:
        if code:
            code = code.strip()
            kind = _kind_of_system(system, code)
            if kind == "snomed":
                found |= _D.snomed.get(code, frozenset())
            elif kind == "icd":
                found |= _icd_categories(code)
        if display:
            found |= _keyword_categories_cached(display)
    if text:
        found |= _keyword_categories_cached(text)
    return frozenset(found)


def classify_plan(codings: Iterable[Coding], text: str | None) -> PlanKind | None:
    """Recognise a CBT-I referral, a taper plan or a medication review (plans.json)."""
    kinds: set[PlanKind] = set()
    qualified: set[PlanKind] = set()
    texts: list[str] = []
    for system, code, display in codings:
        if code:
            key = f"{system or ''}|{code.strip()}"
            hit = _D.plan_codes.get(key)
            if hit is not None:
                kinds.add(hit)
            qualified |= _D.plan_qualified_codes.get(key, frozenset())
        if display:
            texts.append(display)
    if text:
        texts.append(text)
    norm = _t.normalize(" | ".join(texts))
    if norm:
        for m in _D.plan_keywords.finditer(norm):
            kinds.add(_D.plan_keyword_kind[m.group(0)])
        for kind in qualified:
            if _D.plan_qualifiers[kind].search(norm):
                kinds.add(kind)
    for kind in _D.plan_precedence:
        if kind in kinds:
            return kind
    return None


def periprocedural_parenteral(ingredient: str | None) -> bool:
    """An ingredient whose parenteral use is periprocedural (midazolam, remimazolam, ...).

    ingredients.json ``periprocedural_only`` or ``parenteral_periprocedural``, with sources.
    """
    ing = _canonical(ingredient) if ingredient else None
    return ing is not None and ing in _D.periprocedural_parenteral


def plan_subjects(
    codings: Iterable[Coding], texts: Iterable[str], categories: Iterable[ConditionCategory] = ()
) -> frozenset[DrugClass]:
    """Drug classes a plan is about: drugs and class words it names, conditions it addresses.

    ``codings`` and ``texts`` are the plan's words (plans.json "subjects"); empty when it names
    no drug, which the rules read as "not stated".
    """
    words = [d for _, _, d in codings if d] + [t for t in texts if t]
    found: set[DrugClass] = set()
    for phrase in words:
        found |= _subjects_in(phrase)
    for category in categories:
        found |= _D.plan_condition_classes.get(category, frozenset())
    return frozenset(found)


@lru_cache(maxsize=4096)
def _subjects_in(phrase: str) -> frozenset[DrugClass]:
    found = {_D.ingredient_class[i] for i in _named_ingredients(phrase)}
    for m in _D.plan_subject_words.finditer(_t.normalize(phrase)):
        found |= _D.plan_subject_classes[m.group(0)]
    return frozenset(found)


@lru_cache(maxsize=512)
def _canonical(ingredient: str) -> str | None:
    norm = _t.normalize(ingredient)
    if norm in _D.ingredient_class:
        return norm
    m = _D.name_pattern.search(norm)
    return _D.name_to_ingredient[m.group(0)] if m else None


def mme_factor(ingredient: str, *, transdermal: bool = False) -> float | None:
    """CDC 2022 MME factor: MME/day = mg/day x factor; transdermal fentanyl per mcg/h (2.4).

    None when CDC gives no factor (buprenorphine, non-transdermal fentanyl, non-opioids).
    """
    ing = _canonical(ingredient)
    if ing is None:
        return None
    return (_D.mme_transdermal if transdermal else _D.mme).get(ing)


def diazepam_equivalent(ingredient: str) -> float | None:
    """mg of this drug ~ 10 mg oral diazepam (ASAM 2025 VA/DoD column; Ashton for Z-drugs)."""
    ing = _canonical(ingredient)
    return _D.diazepam_eq.get(ing) if ing else None


def diazepam_equivalent_detail(ingredient: str) -> Mapping[str, object] | None:
    """Both table columns for display ("va_dod_2021", "ashton", "approximate")."""
    ing = _canonical(ingredient)
    return _D.diazepam_eq_detail.get(ing) if ing else None


def oral_strengths(ingredient: str) -> tuple[float, ...]:
    """Immediate-release oral strengths (mg) for a BZRA ingredient, ascending; () if unknown."""
    ing = _canonical(ingredient)
    return _D.strengths.get(ing, ()) if ing else ()


def suggestion_code(name: str) -> dict[str, str]:
    """A fresh Coding dict (system, code, display), e.g. for "rescue-naloxone".

    Raises KeyError for an unknown name.
    """
    return dict(_D.suggestion_codes[name])
