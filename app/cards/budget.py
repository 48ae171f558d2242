"""The reading budget of a card's detail (issue #11: "at most about 100 words").

Cards whose evidence grows with the chart (many opioids, many sedatives) write it in the
longest form that fits beside the rest of the card; the rest (numbers that matter, risks, the
action) is never cut. tests/cards/markdown.py counts the rendered words independently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.cards import common
from app.record import DoseConfidence, DrugClass, MedicationUse

DETAIL_WORDS_MAX = 100
MAX_DESCRIBED = 3  # drugs described in a compact line; the rest are named
_WORD = re.compile(r"[^\W_]")


def words(markdown: str) -> int:
    """Words a clinician reads: pieces holding a letter or a digit. The Markdown marks cards use
    (**, list bullets, backslash escapes) hold none, so the source counts as its rendering."""
    return sum(1 for piece in markdown.split() if _WORD.search(piece))


def fitted(parts: Sequence[Sequence[Sequence[str]]]) -> str:
    """The detail: each part is its alternative forms (lists of lines), longest first. Parts
    are shortened in order, each as far as needed, until the detail is within DETAIL_WORDS_MAX
    (then earlier parts get back what fits); a part with one form is never cut (the numbers that
    matter, the action). Over budget only if the one-form parts alone are."""
    chosen = [0] * len(parts)

    def text() -> str:
        return "\n".join(line for part, i in zip(parts, chosen, strict=True) for line in part[i])

    for index, part in enumerate(parts):
        while words(text()) > DETAIL_WORDS_MAX and chosen[index] < len(part) - 1:
            chosen[index] += 1
    # Later parts may have freed words: give earlier parts back the longest form that fits.
    for index in range(len(parts)):
        while chosen[index] > 0:
            chosen[index] -= 1
            if words(text()) > DETAIL_WORDS_MAX:
                chosen[index] += 1
                break
    return text()


def more(count: int) -> str:
    return f"and {count} more order{'s' if count > 1 else ''}"


def names(meds: Sequence[MedicationUse], limit: int | None = None) -> str:
    """'a, b and 2 more': the drugs' names, the ones past ``limit`` counted."""
    return common.name_list(common.drug_names(meds), limit)


def short_dose(med: MedicationUse, moud: bool) -> str:
    """One drug in a few words: MME for a pain opioid, else the dose, as sure as it was read."""
    if moud:
        return " (opioid use disorder treatment)"
    confidence = med.dose_confidence
    mme = med.mme_per_day if med.drug_class is DrugClass.OPIOID else None
    amount, unit = (mme, "MME/day") if mme is not None else (med.daily_dose_mg, "mg/day")
    if amount is None or confidence is DoseConfidence.UNKNOWN:
        return ", dose unclear" if med.dose_text else ", dose not stated"
    if confidence is DoseConfidence.EXACT:
        return f" {common.mg(amount)} {unit}"
    prn = " PRN," if confidence is DoseConfidence.AS_NEEDED_MAX else ""
    return f"{prn} up to {common.mg(amount)} {unit}"


def compact(meds: Sequence[MedicationUse], moud: Sequence[MedicationUse] = ()) -> str:
    """The first MAX_DESCRIBED drugs in a few words each, the rest named."""
    items = [
        f"{common.md_text(common.short_name(m), 40)}{short_dose(m, m in moud)}"
        + (" (new order)" if m.is_draft else "")
        for m in meds[:MAX_DESCRIBED]
    ]
    rest = meds[MAX_DESCRIBED:]
    return "; ".join(items) + (f"; {more(len(rest))}: {names(rest)}" if rest else "")
