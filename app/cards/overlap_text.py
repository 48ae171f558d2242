"""The opioid-benzodiazepine overlap card's words (app/cards/opioid_overlap.py).

Issue #11: a card's detail is at most about 100 words, the words a clinician reads. The overlap
card is the one whose evidence grows with the chart: a patient with many as-needed opioids
would get three long evidence lines and a bare "and N more" (110-135 words). So the evidence is
written in the longest form that fits the budget beside the rest of the card, from full lines
(dose as sure as it was read, dates) down to the drugs' names counted per class; the MME total,
the risks, naloxone and the action are always said in full. Every number keeps its confidence:
a PRN maximum or the top of a range is "up to", an unreadable dose says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from app.cards import budget, common
from app.record import DrugClass, MedicationUse

_NAMED_MAX = 4  # names in a line of names only before the rest are counted


def _line(med: MedicationUse, today: date, moud: bool) -> str:
    """The order's full evidence; treatment of opioid use disorder is named and has no MME."""
    return common.describe(
        med, today, mme=not moud, note="treats opioid use disorder" if moud else None
    )


def _labels(depressants: Sequence[MedicationUse]) -> tuple[str, str]:
    benzo = all(d.drug_class is DrugClass.BENZODIAZEPINE for d in depressants)
    return "Opioids", "Benzodiazepines" if benzo else "CNS depressants"


def evidence_forms(
    opioids: Sequence[MedicationUse],
    depressants: Sequence[MedicationUse],
    moud: Sequence[MedicationUse],
    today: date,
) -> Iterator[list[str]]:
    """The evidence lines, longest form first; the last is short whatever the chart holds."""
    listed = [*opioids, *depressants]
    full = [f"- {_line(m, today, m in moud)}" for m in listed[: common.MAX_LISTED]]
    rest = listed[common.MAX_LISTED :]
    yield full + ([f"- {budget.more(len(rest))}: {budget.names(rest)}"] if rest else [])
    opioid_label, other_label = _labels(depressants)
    yield [
        f"- **{opioid_label}:** {budget.compact(opioids, moud)}",
        f"- **{other_label}:** {budget.compact(depressants, moud)}",
    ]
    for limit in (None, _NAMED_MAX, 1):
        yield [
            f"- **{opioid_label} ({len(common.drug_names(opioids))}):** "
            f"{budget.names(opioids, limit)}",
            f"- **{other_label} ({len(common.drug_names(depressants))}):** "
            f"{budget.names(depressants, limit)}",
        ]


def mme_line(
    pain_opioids: Sequence[MedicationUse],
    total: float,
    unknown: Sequence[MedicationUse],
    upper: bool,
) -> str | None:
    """The total MME/day (CDC 2022 factors), or which opioids it could not be computed for."""
    up_to = "up to " if upper else ""
    if unknown:
        return f"MME/day unknown for {budget.names(unknown, _NAMED_MAX)}" + (
            f"; the others: {up_to}{common.mg(total)}." if total else "."
        )
    if len(pain_opioids) > 1:
        return f"Total **{up_to}{common.mg(total)} MME/day** (CDC 2022 factors; an estimate)."
    return None


def advice(moud: Sequence[MedicationUse], pain: bool, benzo: bool, naloxone: str | None) -> str:
    """What to do, for pain opioids and for treatment of opioid use disorder."""
    rescue = f"Naloxone is {naloxone}." if naloxone else "Offer naloxone (CDC 2022 rec. 8)."
    sedative = "benzodiazepine" if benzo else "CNS depressant"
    if moud and not pain:
        treated = " and ".join(common.drug_names(moud))
        return (
            f"**Do not withhold or reduce {treated}** (FDA 2017): untreated opioid use "
            f"disorder is the greater danger. Work on the {sedative}: confirm the need"
            f"{', taper it gradually if it is to stop' if benzo else ''}; coordinate with "
            f"the {treated} prescriber. Warn about sedation and slowed breathing. {rescue}"
        )
    text = (
        "**Do:** weigh benefits and risks (CDC 2022 rec. 11). If both continue: lowest "
        "doses, shortest time, warn about sedation and slowed breathing. "
        + rescue.replace("CDC 2022 rec.", "rec.")
    )
    if benzo:
        text += " Taper the benzodiazepine gradually if it is to stop."
    if moud:
        text += f" Do not withhold or reduce {' and '.join(common.drug_names(moud))} (FDA 2017)."
    return text
