"""Switches before a taper: extended to immediate release, or to a long-acting benzodiazepine.

Long-acting switch: ASAM 2025 rec. 7 ("consider switching to a comparable dose of a
longer-acting benzodiazepine"), dosed with the terminology's equivalence table (ASAM 2025
Table 8; "these doses are intended for guidance only"), rounded to doses the target's tablets
can make. The range across the table's columns (VA/DoD 2021, Ashton) is reported with it.
"""

from __future__ import annotations

from fractions import Fraction

from app.taper import products
from app.taper.constants import DIAZEPAM_REFERENCE_MG, LONG_ACTING_TARGETS
from app.taper.model import Product, Switch
from app.taper.tablets import smallest_unit
from app.terminology import diazepam_equivalent, diazepam_equivalent_detail

_COLUMNS = ("va_dod_2021", "ashton")


def _column_values(ingredient: str) -> dict[str, list[Fraction]]:
    detail = diazepam_equivalent_detail(ingredient) or {}
    out: dict[str, list[Fraction]] = {}
    for column in _COLUMNS:
        value = detail.get(column)
        values = value if isinstance(value, list) else [value]
        good = [Fraction(str(v)) for v in values if isinstance(v, int | float) and v > 0]
        if good:
            out[column] = good
    return out


def equivalent_range(source: str, target: str, dose: Fraction) -> tuple[Fraction, Fraction] | None:
    """Lowest and highest equivalent of ``dose`` across the table's columns."""
    src, tgt = _column_values(source), _column_values(target)
    values = [
        dose * t / s
        for column in _COLUMNS
        if column in src and column in tgt
        for s in src[column]
        for t in tgt[column]
    ]
    return (min(values), max(values)) if values else None


def long_acting_target(source: str, target: str | None = None) -> Product | None:
    """The product to switch to, when the switch applies to ``source`` (short-acting BZD)."""
    info = products.drug(source)
    wanted = target or LONG_ACTING_TARGETS[0]
    if (
        info is None
        or not info.long_acting_switch
        or wanted not in LONG_ACTING_TARGETS
        or diazepam_equivalent(source) is None
        or diazepam_equivalent(wanted) is None
    ):
        return None
    return products.default_product(wanted)


def to_long_acting(source: str, dose: Fraction, target: Product) -> Switch:
    """Today's dose of ``source`` as a dose of the long-acting ``target`` its tablets can make."""
    src_eq = Fraction(str(diazepam_equivalent(source)))
    tgt_eq = Fraction(str(diazepam_equivalent(target.ingredient)))
    exact = dose * tgt_eq / src_eq
    unit = smallest_unit(target)
    rounded = max(unit, _nearest_multiple(exact, unit))
    spread = equivalent_range(source, target.ingredient, dose)
    diazepam = dose * DIAZEPAM_REFERENCE_MG / src_eq
    why = (
        f"ASAM 2025 rec. 7: a longer-acting benzodiazepine gives smoother levels for the "
        f"taper. {_mg(dose)} mg of {source} is about {_mg(diazepam)} mg of diazepam "
        "(ASAM 2025 Table 8, VA/DoD 2021 column)"
    )
    if spread and spread[0] != spread[1]:
        why += (
            f"; the table's columns give {_mg(spread[0])}-{_mg(spread[1])} mg of "
            f"{target.ingredient}"
        )
    why += (
        '; equivalence is approximate ("guidance only"): watch for sedation or '
        "withdrawal in the first 2 weeks and adjust before the first reduction."
    )
    return Switch(source, dose, target.ingredient, target.form, rounded, spread, why)


def to_immediate_release(er: Product, dose: Fraction) -> tuple[Product, Switch] | None:
    """ER -> IR at the same total daily dose when the label says so and IR allows finer steps."""
    if er.ir_switch is None:
        return None
    ir = products.product(er.ingredient, er.ir_switch)
    if ir is None or smallest_unit(ir) >= smallest_unit(er):
        return None
    unit = smallest_unit(ir)
    same = max(unit, _nearest_multiple(dose, unit))
    why = (
        f"Extended-release {er.ingredient} is never split: switch to immediate-release "
        f"{er.ingredient} at the same total daily dose, as the product label allows, "
        "then taper in smaller steps."
    )
    return ir, Switch(er.ingredient, dose, ir.ingredient, ir.form, same, None, why)


def _nearest_multiple(value: Fraction, unit: Fraction) -> Fraction:
    """Nearest whole multiple of ``unit``; halves round down (less sedation while adjusting)."""
    low = (value // unit) * unit
    return low if value - low <= low + unit - value else low + unit


def _mg(value: Fraction) -> str:
    return f"{float(value):.3f}".rstrip("0").rstrip(".")
