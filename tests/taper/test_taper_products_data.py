"""products.json: every product names its source, and every strength is an RxNorm product."""

from __future__ import annotations

import json

from app.taper import Form, products
from app.terminology._data import DATA_DIR

_DISPLAY = {
    Form.TABLET: " MG Oral Tablet",
    Form.ODT: " MG Disintegrating Oral Tablet",
    Form.ER_TABLET: " MG Extended Release Oral Tablet",
    Form.ER_CAPSULE: " MG Extended Release Oral Capsule",
    Form.CAPSULE: " MG Oral Capsule",
    Form.FILM: " MG Oral Film",
    Form.SL_TABLET: " MG Sublingual Tablet",
}


def _mg(value: float) -> str:
    return f"{value:g}"


def test_header_and_sources() -> None:
    header = products.HEADER
    assert header["source"] and header["curated_by"] and header["license"]
    for drug in products.marketed():
        assert drug.acting in ("short", "long") and drug.half_life_hours
        for prod in drug.products:
            assert "RxNorm" in prod.source or "FDA label" in prod.source
            assert any(word in prod.source for word in ("label", "Label", "PI", "DailyMed"))
            never_split = prod.form is not Form.TABLET
            assert not (never_split and any(s.parts > 1 for s in prod.strengths))


def test_every_strength_is_an_rxnorm_product_in_the_cdc_sets() -> None:
    codes = json.loads((DATA_DIR / "medications.json").read_text())["codes"]
    displays = {
        (c["ingredient"], c["display"].split(" [")[0].replace("24 HR ", "")) for c in codes.values()
    }
    curated = json.loads((DATA_DIR / "strengths.json").read_text())["header"]["curated_additions"]
    for drug in products.marketed():
        if drug.ingredient in curated:  # eszopiclone: not in the CDC sets (FDA label instead)
            continue
        for prod in drug.products:
            for strength in prod.strengths:
                wanted = _mg(float(strength.mg)) + _DISPLAY[prod.form]
                assert any(
                    ing == drug.ingredient and disp.endswith(wanted) for ing, disp in displays
                ), (drug.ingredient, wanted)


def test_immediate_release_strengths_left_out_say_why() -> None:
    generated = json.loads((DATA_DIR / "strengths.json").read_text())["strengths"]
    for ingredient, strengths in generated.items():
        drug = products.drug(ingredient)
        if drug is None:
            assert products.not_marketed(ingredient), ingredient
            continue
        ours = {
            float(s.mg) for p in drug.products if not p.form.extended_release for s in p.strengths
        }
        missing = [s for s in strengths if s not in ours]
        if missing:
            assert ingredient in products.NOT_MARKETED_STRENGTHS, (ingredient, missing)
