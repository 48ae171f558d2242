"""What the dry-run report counts, folded one result row at a time (memory stays flat)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from app.bulk.patient import AGE_BANDS, DOSE_COLUMNS
from app.cards import RULES
from app.record import DoseConfidence

INDICATORS = ("critical", "warning", "info")
# CDC 2022: 50 MME/day is the naloxone / reassessment threshold, 90 the "avoid or justify" one.
MME_BINS = (("<20", 20.0), ("20-49", 50.0), ("50-89", 90.0), ("90+", float("inf")))
# ASAM 2025: long-term from about 4 weeks; the rest mark 3, 6, 12 and 24 months.
DAY_BINS = (
    ("<4 weeks", 28),
    ("4-12 weeks", 90),
    ("3-6 months", 180),
    ("6-12 months", 365),
    ("1-2 years", 730),
    ("2+ years", 10**9),
)
TOP_DRUGS = 15


def _bin(value: float, bins: tuple[tuple[str, float], ...]) -> str:
    return next(label for label, upper in bins if value < upper)


@dataclass
class Summary:
    patients: int = 0
    with_cards: int = 0
    by_band: Counter[str] = field(default_factory=Counter)
    by_sex: Counter[str] = field(default_factory=Counter)
    # (rule, indicator, age band) -> patients with that card
    cards: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    mme: Counter[str] = field(default_factory=Counter)  # overlap cards, by MME/day
    mme_incomplete: int = 0  # overlap cards missing an MME
    bzra_days: Counter[str] = field(default_factory=Counter)  # patients on a BZRA, by course
    drugs: Counter[str] = field(default_factory=Counter)  # patients with a card, by drug
    doses: Counter[str] = field(default_factory=Counter)  # current BZRA/opioid orders
    unreadable: int = 0  # resources normalization skipped
    failed: int = 0  # patients whose evaluation raised (rows with an error, not counted)
    mme_upper_bound: int = 0  # overlap cards whose MME includes a PRN maximum or range top

    def add(self, row: dict[str, Any]) -> None:
        if row.get("error"):
            self.failed += 1
            return
        self.patients += 1
        band = row["age_band"]
        self.by_band[band] += 1
        self.by_sex[row["sex"]] += 1
        fired = [rule for rule in RULES if row.get(rule)]
        for rule in fired:
            self.cards[(rule, row[rule], band)] += 1
        if fired:
            self.with_cards += 1
            for drug in filter(None, str(row["drugs"]).split(";")):
                self.drugs[drug] += 1
        if row.get("opioid-benzodiazepine-overlap"):
            if row["mme_incomplete"] == "yes":
                self.mme_incomplete += 1
            if row["mme_upper_bound"] == "yes":
                self.mme_upper_bound += 1
            self.mme[_bin(float(row["mme_per_day"] or 0), MME_BINS)] += 1
        if row["bzra_days"] != "":
            self.bzra_days[_bin(int(row["bzra_days"]), DAY_BINS)] += 1
        for column in DOSE_COLUMNS.values():
            self.doses[column] += int(row[column])
        self.unreadable += int(row["unreadable"])

    def merge(self, other: Summary) -> Summary:
        """Fold another part's summary in (workers summarize their buckets): every field is
        a count or a Counter, so the whole is the sum of the parts."""
        for name in (f.name for f in fields(self)):
            mine = getattr(self, name)
            if isinstance(mine, Counter):
                mine.update(getattr(other, name))
            else:
                setattr(self, name, mine + getattr(other, name))
        return self

    def per_thousand(
        self, rule: str, indicator: str | None = None, band: str | None = None
    ) -> float:
        """Patients with the card per 1,000 patients (of the band, when one is given)."""
        denominator = self.by_band[band] if band else self.patients
        count = sum(
            n
            for (r, i, b), n in self.cards.items()
            if r == rule and (indicator is None or i == indicator) and (band is None or b == band)
        )
        return 1000 * count / denominator if denominator else 0.0

    def confident_share(self) -> float | None:
        total = sum(self.doses.values())
        return self.doses[DOSE_COLUMNS[DoseConfidence.EXACT]] / total if total else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "patients": self.patients,
            "patients_with_cards": self.with_cards,
            "by_age_band": {b: self.by_band[b] for b in AGE_BANDS if self.by_band[b]},
            "by_sex": dict(sorted(self.by_sex.items())),
            "cards": [
                {"rule": r, "indicator": i, "age_band": b, "patients": n}
                for (r, i, b), n in sorted(self.cards.items())
            ],
            "per_1000": {r: round(self.per_thousand(r), 2) for r in RULES},
            "overlap_mme": {label: self.mme[label] for label, _ in MME_BINS},
            "overlap_mme_incomplete": self.mme_incomplete,
            "overlap_mme_upper_bound": self.mme_upper_bound,
            "bzra_course": {label: self.bzra_days[label] for label, _ in DAY_BINS},
            "top_drugs": dict(self.drugs.most_common(TOP_DRUGS)),
            "doses": {c: self.doses[c] for c in DOSE_COLUMNS.values()},
            "unreadable_resources": self.unreadable,
            "patients_failed": self.failed,
        }
