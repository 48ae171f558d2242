"""Derive app/terminology/data/*.json from the copied CDC value sets and the curated files.

Usage: python scripts/build_terminology.py [SOURCE_DIR] [--out DIR]
SOURCE_DIR defaults to ../shared/terminology/source relative to the repository root. The output
is deterministic: running it again reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "app" / "terminology" / "data"
DEFAULT_SOURCE = REPO.parent / "shared" / "terminology" / "source"
GENERATED_BY = "scripts/build_terminology.py"

CDC_DIR = "cqframework-opioid-cds-r4"
MME_DIR = "cqframework-opioid-mme-r4"
SOURCES = {
    CDC_DIR: {
        "repository": "https://github.com/cqframework/opioid-cds-r4",
        "path": "input/vocabulary/valueset/",
        "commit": "b29bdcbf6db6f3de26486dbc3820572ee9a78b89",
        "license": "CC0-1.0",
    },
    MME_DIR: {
        "repository": "https://github.com/cqframework/opioid-mme-r4",
        "path": "input/vocabulary/codesystem/codesystem-CDCMMEClinicalConversionFactors.json",
        "commit": "1357f45424c40c49911cd73ecf377b740013f21e",
        "license": "Apache-2.0",
    },
}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"

# Highest first: a product in several sets takes the first class (codeine + butalbital -> opioid).
MED_SETS = [
    ("opioid-analgesics-with-ambulatory-misuse-potential", "opioid"),
    ("buprenorphine-and-methadone-medications", "opioid"),
    ("buprenorphine-medications", "opioid"),
    ("methadone-medications", "opioid"),
    ("benzodiazepine-medications", "benzodiazepine"),
    ("cns-depressant-medications", "cns"),
    ("barbiturate-medications", "barbiturate"),
    ("naloxone-medications", "rescue-naloxone"),
]
# Anorectic stimulants in the CDC CNS-depressant set: not CNS depressants (clinical-anchors §1.4).
STIMULANTS = (
    "phentermine",
    "benzphetamine",
    "diethylpropion",
    "phendimetrazine",
    "methamphetamine",
)
BZRA = ("benzodiazepine", "z-drug")
# Immediate-release oral solids used to round taper doses.
STRENGTH_FORMS = ("oral tablet", "oral capsule", "disintegrating oral tablet")


def _load_text_module() -> ModuleType:
    """Load app/terminology/text.py by path: importing the package would need the data files."""
    path = REPO / "app" / "terminology" / "text.py"
    spec = importlib.util.spec_from_file_location("_terminology_text", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = _load_text_module()


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(obj: dict[str, Any]) -> str:
    """Sorted keys; one line per entry below the top two levels, for readable diffs."""
    lines = ["{"]
    top = sorted(obj.items())
    for i, (key, value) in enumerate(top):
        comma = "," if i < len(top) - 1 else ""
        if isinstance(value, dict) and value:
            lines.append(f" {json.dumps(key)}: {{")
            inner = sorted(value.items())
            for j, (k2, v2) in enumerate(inner):
                c2 = "," if j < len(inner) - 1 else ""
                text = json.dumps(v2, sort_keys=True, ensure_ascii=False)
                lines.append(f"  {json.dumps(k2, ensure_ascii=False)}: {text}{c2}")
            lines.append(f" }}{comma}")
        else:
            lines.append(
                f" {json.dumps(key)}: "
                f"{json.dumps(value, sort_keys=True, ensure_ascii=False)}{comma}"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _header(
    source_dir: str, files: list[str], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    info = SOURCES[source_dir]
    header = {
        "source": {"repository": info["repository"], "path": info["path"], "files": sorted(files)},
        "commit": info["commit"],
        "license": info["license"],
        "generated_by": GENERATED_BY,
    }
    header.update(extra or {})
    return header


def _contains(src: Path, name: str) -> tuple[list[dict[str, Any]], str]:
    vs = _read(src / CDC_DIR / f"{name}.json")
    return vs["expansion"]["contains"], vs["expansion"].get("timestamp", "")


class Names:
    """Ingredient/brand name matcher over the curated ingredient list."""

    def __init__(self, ingredients: dict[str, dict[str, Any]]) -> None:
        self.by_name: dict[str, str] = {}
        for ing, entry in ingredients.items():
            for name in [ing, *entry.get("aliases", [])]:
                self.by_name[T.normalize(name)] = ing
        self.pattern = T.name_pattern(self.by_name)
        self.cls = {ing: entry["class"] for ing, entry in ingredients.items()}

    def find(self, display: str) -> list[tuple[str, int, int]]:
        text = T.normalize(display)
        return [(self.by_name[m.group(0)], m.start(), m.end()) for m in self.pattern.finditer(text)]


def _classify_product(
    display: str, set_class: str, names: Names, periprocedural: set[str]
) -> dict[str, Any] | None:
    text = T.normalize(display)
    found = names.find(display)
    if set_class == "cns":
        if any(s in text for s in STIMULANTS):
            return None
        wanted = ("z-drug", "other-cns-depressant")
    elif set_class == "rescue-naloxone":
        # Rescue naloxone only: combinations (buprenorphine/naloxone, pentazocine/naloxone)
        # are opioids and come from the opioid sets.
        if len({ing for ing, _, _ in found}) != 1:
            return None
        wanted = ("rescue-naloxone",)
    else:
        wanted = (set_class,)
    hits = [(ing, start, end) for ing, start, end in found if names.cls[ing] in wanted]
    if not hits:
        raise SystemExit(
            f"no {wanted} ingredient recognised in CDC display {display!r}: "
            "add it to app/terminology/data/ingredients.json"
        )
    ingredient, start, end = hits[0]
    strength, unit = T.ingredient_strength(text, start, end)
    entry: dict[str, Any] = {
        "class": names.cls[ingredient],
        "ingredient": ingredient,
        "display": display,
    }
    if strength is not None:
        entry["strength"] = strength
        entry["unit"] = unit
    if T.is_injectable_text(text) or ingredient in periprocedural:
        entry["injectable"] = True
    if T.is_moud_text(ingredient, text, strength, unit):
        entry["moud"] = True
    if "transdermal" in text:
        entry["transdermal"] = True
    if len({ing for ing, _, _ in found}) > 1:
        entry["combination"] = True
    return entry


def build_medications(src: Path, ingredients: dict[str, Any]) -> tuple[dict, dict]:
    names = Names(ingredients)
    periprocedural = {k for k, v in ingredients.items() if v.get("periprocedural_only")}
    codes: dict[str, dict[str, Any]] = {}
    stamps: dict[str, str] = {}
    excluded: dict[str, str] = {}
    for vs_name, set_class in MED_SETS:
        contains, stamp = _contains(src, vs_name)
        stamps[vs_name] = stamp
        for item in contains:
            if item["system"] != RXNORM or item["code"] in codes:
                continue
            entry = _classify_product(item["display"], set_class, names, periprocedural)
            if entry is None:
                excluded[item["code"]] = item["display"]
                continue
            entry["valueset"] = vs_name
            codes[item["code"]] = entry
    header = _header(
        CDC_DIR,
        [f"{n}.json" for n, _ in MED_SETS],
        {
            "expansion_timestamps": stamps,
            "rules": "class by set (opioid > benzodiazepine > CNS > barbiturate > "
            "naloxone); CNS set split into z-drug / other-cns-depressant; "
            "anorectic stimulants and naloxone combinations dropped; "
            "injectable = parenteral dose form or periprocedural-only "
            "ingredient; moud per app/terminology/text.py is_moud_text",
        },
    )
    # Brands written in SBD displays ("[Xanax]") of single-ingredient products.
    brands: dict[str, str] = {}
    conflicts: set[str] = set()
    for entry in codes.values():
        disp = entry["display"]
        if entry.get("combination") or "[" not in disp or "{" in disp:
            continue
        brand = T.normalize(disp[disp.rindex("[") + 1 : disp.rindex("]")])
        if brands.get(brand, entry["ingredient"]) != entry["ingredient"]:
            conflicts.add(brand)
        brands[brand] = entry["ingredient"]
    for brand in conflicts:
        del brands[brand]
    meds = {
        "header": header,
        "codes": codes,
        "brands": brands,
        "excluded": {
            "codes": excluded,
            "why": "anorectic stimulants in cns-depressant-medications; "
            "buprenorphine/naloxone and pentazocine/naloxone in "
            "naloxone-medications (classified from the opioid sets)",
        },
    }
    return meds, codes


def build_strengths(codes: dict[str, dict[str, Any]], ingredients: dict[str, Any]) -> dict:
    found: dict[str, set[float]] = {}
    for entry in codes.values():
        if entry["class"] not in BZRA or entry.get("combination") or entry.get("unit") != "mg":
            continue
        form = T.normalize(entry["display"].split("[")[0])
        if "extended release" in form or not form.endswith(STRENGTH_FORMS):
            continue
        found.setdefault(entry["ingredient"], set()).add(entry["strength"])
    curated = {}
    for ing, entry in ingredients.items():
        if entry["class"] in BZRA and ing not in found and entry.get("oral_strengths_mg"):
            found[ing] = set(entry["oral_strengths_mg"])
            curated[ing] = entry["oral_strengths_source"]
    header = _header(
        CDC_DIR,
        ["benzodiazepine-medications.json", "cns-depressant-medications.json"],
        {
            "forms": list(STRENGTH_FORMS),
            "curated_additions": curated,
            "meaning": "available immediate-release oral strengths (mg) per BZRA "
            "ingredient, from the SCD/SBD displays",
        },
    )
    return {"header": header, "strengths": {k: sorted(v) for k, v in sorted(found.items())}}


def build_mme(src: Path) -> dict:
    cs = _read(src / MME_DIR / "codesystem-CDCMMEClinicalConversionFactors.json")
    factors: dict[str, dict[str, Any]] = {}
    for concept in cs["concept"]:
        props = {
            p["code"]: p.get("valueDecimal", p.get("valueString"))
            for p in concept.get("property", [])
        }
        entry: dict[str, Any] = {"rxcui": concept["code"]}
        dose_form = props.get("dose-form-conversion-factor")
        if dose_form:
            # "316987:7200@0.33333333": RxNorm dose form 316987 (transdermal system); strength
            # in MG/HR x 7200 x 1/3 = MME/day, i.e. 2.4 MME per mcg/h (CDC 2022 table).
            form, rest = dose_form.split(":")
            mult, frac = (float(x) for x in rest.split("@"))
            entry["transdermal_dose_form"] = form
            entry["transdermal_per_mcg_hr"] = round(mult * frac / 1000.0, 4)
            entry["transdermal_rule"] = dose_form
            entry["unverified_conversion_factor"] = props.get("conversion-factor")
        else:
            entry["factor"] = props["conversion-factor"]
        factors[concept["display"].lower()] = entry
    header = _header(
        MME_DIR,
        ["codesystem-CDCMMEClinicalConversionFactors.json"],
        {
            "meaning": "CDC 2022 (MMWR RR-71(3)) MME conversion factors: MME/day = "
            "mg/day x factor; fentanyl patch = mcg/h x 2.4. Fentanyl's "
            "ingredient-level factor (0.0576) has no documented unit "
            "basis and is not used for non-transdermal fentanyl."
        },
    )
    return {"header": header, "factors": factors}


def build_conditions(src: Path, curated: dict[str, Any]) -> dict:
    out: dict[str, dict[str, set[str]]] = {}
    stamps: dict[str, str] = {}
    files: list[str] = []
    for spec in curated["valuesets"]:
        contains, stamp = _contains(src, spec["valueset"])
        stamps[spec["valueset"]] = stamp
        files.append(f"{spec['valueset']}.json")
        drop = set(spec.get("exclude_codes", []))
        for other in spec.get("exclude_valuesets", []):
            drop |= {c["code"] for c in _contains(src, other)[0]}
        prefixes = tuple(spec.get("exclude_icd_prefixes", []))
        bucket = out.setdefault(spec["category"], {"snomed": set(), "icd10cm": set()})
        for item in contains:
            code = item["code"]
            if code in drop:
                continue
            if item["system"] == SNOMED:
                bucket["snomed"].add(code)
            elif item["system"] == ICD10CM and "-" not in code and not code.startswith(prefixes):
                # "-" marks chapter/block ranges ("C00-C96"), which are not codes.
                bucket["icd10cm"].add(code)
    header = _header(
        CDC_DIR,
        files,
        {
            "expansion_timestamps": stamps,
            "recipe": "app/terminology/data/conditions.json valuesets",
        },
    )
    return {
        "header": header,
        "categories": {
            cat: {k: sorted(v) for k, v in sorted(b.items())} for cat, b in sorted(out.items())
        },
    }


def check_suggestions(src: Path) -> None:
    codes = _read(DATA / "suggestion_codes.json")["codes"]
    nal = codes["rescue-naloxone"]
    cdc = {c["code"]: c["display"] for c in _contains(src, "naloxone-medications")[0]}
    if cdc.get(nal["code"]) != nal["display"]:
        raise SystemExit("suggestion_codes.json rescue-naloxone does not match the CDC set")


def build(src: Path, out: Path) -> list[Path]:
    ingredients = _read(DATA / "ingredients.json")["ingredients"]
    conditions = _read(DATA / "conditions.json")
    check_suggestions(src)
    meds, codes = build_medications(src, ingredients)
    outputs = {
        "medications.json": meds,
        "strengths.json": build_strengths(codes, ingredients),
        "mme_factors.json": build_mme(src),
        "condition_codes.json": build_conditions(src, conditions),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, obj in outputs.items():
        path = out / name
        path.write_text(_dump(obj), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    if not (args.source / CDC_DIR).is_dir():
        print(f"source directory not found: {args.source}", file=sys.stderr)
        return 2
    for path in build(args.source, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
