"""Marketed oral products per benzodiazepine / Z-drug (terminology/data/products.json)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from app.taper.model import Form, Product, Strength

DATA = Path(__file__).resolve().parent.parent / "terminology" / "data" / "products.json"
_PARTS = {"none": 1, "half": 2, "quarter": 4}


@dataclass(frozen=True, slots=True)
class DrugProducts:
    ingredient: str
    acting: str  # "short" | "long" (Ashton half-life table)
    half_life_hours: str
    long_acting_switch: bool  # ASAM 2025 rec. 7 applies
    products: tuple[Product, ...]


def _product(ingredient: str, entry: dict[str, Any]) -> Product:
    strengths = tuple(
        Strength(Fraction(str(s["mg"])), _PARTS[s.get("split", "none")]) for s in entry["strengths"]
    )
    ir = entry.get("ir_switch")
    return Product(
        ingredient,
        Form(entry["form"]),
        tuple(sorted(strengths, key=lambda s: s.mg)),
        entry["source"],
        Form(ir) if ir else None,
    )


def _load() -> tuple[dict[str, DrugProducts], dict[str, str], dict[str, str], dict[str, Any]]:
    doc = json.loads(DATA.read_text(encoding="utf-8"))
    drugs = {
        ing: DrugProducts(
            ing,
            d["acting"],
            d["half_life_hours"],
            bool(d["long_acting_switch"]),
            tuple(_product(ing, p) for p in d["products"]),
        )
        for ing, d in doc["drugs"].items()
    }
    return drugs, dict(doc["not_marketed"]), dict(doc["not_marketed_strengths"]), doc["header"]


_DRUGS, _NOT_MARKETED, NOT_MARKETED_STRENGTHS, HEADER = _load()


def drug(ingredient: str) -> DrugProducts | None:
    return _DRUGS.get(ingredient.strip().lower())


def marketed() -> tuple[DrugProducts, ...]:
    return tuple(_DRUGS.values())


def not_marketed(ingredient: str) -> str | None:
    """Why an ingredient has no US oral product here, or None."""
    return _NOT_MARKETED.get(ingredient.strip().lower())


def not_marketed_ingredients() -> tuple[str, ...]:
    return tuple(_NOT_MARKETED)


def product(ingredient: str, form: Form) -> Product | None:
    found = drug(ingredient)
    return next((p for p in found.products if p.form is form), None) if found else None


def default_product(ingredient: str) -> Product | None:
    """The drug's first immediate-release product (tablets, else capsules)."""
    found = drug(ingredient)
    if found is None:
        return None
    plain = [p for p in found.products if p.form in (Form.TABLET, Form.CAPSULE)]
    return (
        plain or [p for p in found.products if not p.form.extended_release] or list(found.products)
    )[0]


# Order texts: RxNorm displays ("24 HR alprazolam 3 MG Extended Release Oral Tablet"), EHR
# free text ("Xanax XR 1 mg tab"), brand suffixes. First match wins.
_FORM_WORDS: tuple[tuple[str, Form | None], ...] = (
    (
        r"\b(oral (solution|suspension|concentrate)|intensol|solution|suspension|mg/ml|syrup|"
        r"elixir|liquid)\b",
        None,
    ),
    (
        r"\b(extended[- ]release|er|xr|cr|sr|24 hr|controlled[- ]release)\b.*\bcapsule",
        Form.ER_CAPSULE,
    ),
    (r"\bcapsule\b.*\b(extended[- ]release|er|xr)\b", Form.ER_CAPSULE),
    (r"\bloreev\b", Form.ER_CAPSULE),
    (r"\b(extended[- ]release|er|xr|cr|sr|24 hr|controlled[- ]release)\b", Form.ER_TABLET),
    (r"\b(disintegrating|odt|orally dissolving|wafers?)\b", Form.ODT),
    (r"\b(sublingual|edluar|intermezzo)\b", Form.SL_TABLET),
    (r"\b(film|sympazan)\b", Form.FILM),
    (r"\b(capsules?|caps?)\b", Form.CAPSULE),
    (r"\b(tablets?|tabs?)\b", Form.TABLET),
)
_FORM_PATTERNS = tuple((re.compile(p), f) for p, f in _FORM_WORDS)
LIQUID = "liquid"


def form_of(text: str | None) -> Form | str | None:
    """The order's form from its name; ``LIQUID`` for oral liquids; None when it does not say."""
    low = (text or "").lower()
    for pattern, form in _FORM_PATTERNS:
        if pattern.search(low):
            return LIQUID if form is None else form
    return None
