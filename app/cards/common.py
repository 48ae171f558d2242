"""Shared card pieces: which medications a rule may look at, sources, override reasons, text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date

from app.cards.base import TOPIC_SYSTEM, current_medications, focus_medications
from app.models.cards import Coding, OverrideReason, Source
from app.record import (
    BZRA_CLASSES,
    DoseConfidence,
    MedicationUse,
    PatientRecord,
)

# --- guideline sources (label, public URL) --------------------------------------------------
CDC_2022 = (
    "CDC 2022 Clinical Practice Guideline for Prescribing Opioids for Pain, rec. 11",
    "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
)
ASAM_2025 = (
    "Joint Clinical Practice Guideline on Benzodiazepine Tapering (ASAM 2025, JGIM)",
    "https://doi.org/10.1007/s11606-025-09499-2",
)
BEERS_2023 = ("AGS Beers Criteria 2023 (J Am Geriatr Soc)", "https://doi.org/10.1111/jgs.18372")
ACP_2016 = (
    "ACP 2016 guideline: CBT-I first for chronic insomnia (Ann Intern Med)",
    "https://doi.org/10.7326/M15-2175",
)
AASM_2021 = (
    "AASM 2021 behavioral treatments for chronic insomnia (J Clin Sleep Med)",
    "https://doi.org/10.5664/jcsm.8986",
)
FDA_2020_BOXED = (
    "FDA 2020 boxed warning: benzodiazepine dependence and withdrawal",
    "https://www.fda.gov/drugs/drug-safety-and-availability/"
    "fda-requiring-boxed-warning-updated-improve-safe-use-benzodiazepine-drug-class",
)
# Patient-facing material checked to exist: the BZRA algorithm and patient pamphlet page, and
# the page that hosts the EMPOWER sedative-hypnotic brochure (Tannenbaum, JAMA Intern Med 2014).
DEPRESCRIBING_ALGORITHMS = (
    "Deprescribing BZRA algorithm and patient pamphlet (deprescribing.org)",
    "https://deprescribing.org/resources/deprescribing-guidelines-algorithms/",
)
EMPOWER_BROCHURE = (
    "EMPOWER sedative-hypnotic patient brochure (deprescribing.org)",
    "https://deprescribing.org/resources/deprescribing-information-pamphlets/",
)


def source(guideline: tuple[str, str], rule_id: str, topic: str) -> Source:
    label, url = guideline
    return Source(
        label=label, url=url, topic=Coding(system=TOPIC_SYSTEM, code=rule_id, display=topic)
    )


# --- override reasons -----------------------------------------------------------------------
CDC_OVERRIDE_SYSTEM = "http://fhir.org/guides/cdc/opioid-cds/CodeSystem/opioidcds-overrideReasons"
# Project reasons that the CDC code system has no code for.
OVERRIDE_SYSTEM = "urn:benzo-safety-cds:override-reason"


def cdc_reason(code: str, display: str) -> OverrideReason:
    return OverrideReason(system=CDC_OVERRIDE_SYSTEM, code=code, display=display)


def project_reason(code: str, display: str) -> OverrideReason:
    return OverrideReason(system=OVERRIDE_SYSTEM, code=code, display=display)


# Displays are the CDC CodeSystem's own; the CDC PlanDefinitions snooze for 3 months.
SNOOZE_3_MONTHS = cdc_reason("snooze-3-months", "Snooze Alert for 3 Months")
BENEFITS_OUTWEIGH_RISKS = project_reason(
    "benefits-outweigh-risks", "Benefits outweigh risks (discussed with patient)"
)
ALREADY_TAPERING = project_reason("already-tapering", "Patient already on supervised taper")
PLAN_ELSEWHERE = project_reason(
    "plan-documented-elsewhere", "Taper plan or review documented elsewhere"
)
PATIENT_DECLINES_TAPER = project_reason(
    "patient-declines-taper", "Patient declines taper for now; revisit next visit"
)
SPECIALIST_MANAGED = project_reason(
    "specialist-managed", "Managed by a specialist (e.g., psychiatry, neurology)"
)


# --- which medications a rule looks at ------------------------------------------------------
def pool(record: PatientRecord) -> list[MedicationUse]:
    """Medications a rule may combine: selected drafts with the chart (order-select), else all."""
    if record.hook == "order-select":
        return [
            m
            for m in record.medications
            if (m.is_draft and m.is_selected) or (m.is_active and not m.is_draft)
        ]
    return current_medications(record)


def focus_refs(record: PatientRecord) -> set[str]:
    return {m.ref for m in focus_medications(record)}


def bzras(meds: Iterable[MedicationUse]) -> list[MedicationUse]:
    return [m for m in meds if m.drug_class in BZRA_CLASSES]


def outpatient(meds: Iterable[MedicationUse]) -> list[MedicationUse]:
    """Orders for use outside hospital (community, outpatient, discharge, or no category)."""
    return [m for m in meds if not m.is_inpatient]


def chart_orders(record: PatientRecord) -> list[MedicationUse]:
    """Active orders already on the chart (not drafts)."""
    return [m for m in record.medications if m.is_active and not m.is_draft]


def same_drug(a: MedicationUse, b: MedicationUse) -> bool:
    if a.ingredient and b.ingredient:
        return a.ingredient == b.ingredient
    return a.name.lower() == b.name.lower()


# --- text -----------------------------------------------------------------------------------
# Advice several cards would give; said once per response (app/cards/response.py keeps it on the
# first card shown). Abrupt withdrawal can cause seizures: FDA 2020 boxed warning, ASAM 2025
# rec. 2.
NEVER_STOP = (
    "**Never stop abruptly**: withdrawal can cause seizures (FDA 2020 boxed "
    "warning; ASAM 2025 rec. 2)."
)
# A card's pointer to the taper-plan card; the response pass drops it when that card is not shown
# (snoozed: rule modes are known before the rules run, snoozes only after).
SEE_TAPER_CARD = ": see the taper-plan card."
MAX_LISTED = 3  # orders listed on one card; more are counted
_MD_SPECIAL = re.compile(r"[\\`*_\[\]<>#|]")


def mg(value: float) -> str:
    """A dose without float noise: 0.125 -> '0.125', 10.0 -> '10'."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def day(value: date) -> str:
    return value.isoformat()


def short_name(med: MedicationUse) -> str:
    return med.ingredient or med.name


def drug_names(meds: Iterable[MedicationUse]) -> list[str]:
    names: list[str] = []
    for med in meds:
        name = short_name(med)
        if name not in names:
            names.append(name)
    return names


def name_list(names: Sequence[str], limit: int | None = None) -> str:
    """'a, b and 2 more': names past ``limit`` are counted, so a line stays short (issue #11)."""
    if limit is not None and len(names) > limit + 1:  # "and 1 more" would save no word
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    return ", ".join(names)


def fit_summary(template: str, names: Sequence[str], limit: int = 139) -> str:
    """Fill ``{drugs}`` with as many names as fit under the CDS Hooks 140-character limit."""
    for count in range(len(names), 0, -1):
        shown = ", ".join(names[:count])
        if count < len(names):
            shown += f" +{len(names) - count} more"
        text = template.format(drugs=shown)
        if len(text) <= limit:
            return text
    text = template.format(drugs=f"{len(names)} drugs")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dose_phrase(med: MedicationUse) -> str | None:
    """The daily dose as sure as it was read: only an exact dose is stated as the dose."""
    dose = med.daily_dose_mg
    confidence = med.dose_confidence
    if confidence is DoseConfidence.EXACT and dose is not None:
        return f"{mg(dose)} mg/day"
    if confidence is DoseConfidence.RANGE and dose is not None:
        low = med.daily_dose_low_mg
        shown = f"{mg(low)}-{mg(dose)}" if low is not None and low < dose else f"up to {mg(dose)}"
        return f"{shown} mg/day (a range); confirm the total daily dose"
    if confidence is DoseConfidence.AS_NEEDED_MAX and dose is not None:
        return f"up to {mg(dose)} mg/day as needed; confirm actual use"
    if med.dose_text:
        return "total daily dose not clear from the order: confirm it"
    return None


def mme_phrase(med: MedicationUse) -> str | None:
    if med.mme_per_day is None:
        return None
    exact = med.dose_confidence is DoseConfidence.EXACT
    return f"{'' if exact else 'up to '}{mg(med.mme_per_day)} MME/day"


def md_text(text: str, limit: int = 80) -> str:
    """EHR words for Markdown: special characters escaped, cut at a word near ``limit``."""
    words = " ".join(text.split())
    if len(words) > limit:
        words = words[:limit].rsplit(" ", 1)[0] + "…"
    return _MD_SPECIAL.sub(r"\\\g<0>", words)


def taken_since(med: MedicationUse) -> date | None:
    """First day of continuous use: the episode across renewals, else the order's start."""
    return med.episode_start or med.start


def describe(
    med: MedicationUse,
    today: date | None = None,
    *,
    mme: bool = True,
    note: str | None = None,
    days: bool = False,
) -> str:
    """One Markdown line of evidence: the drug, its dose as sure as it was read, since when.

    An unclear dose quotes what the order says; ``mme`` False leaves out MME (treatment of
    opioid use disorder is not pain-style MME, CDC 2022).
    """
    dose = dose_phrase(med) or "dose not stated"
    if med.dose_confidence is DoseConfidence.UNKNOWN and med.dose_text:
        dose = f'"{md_text(med.dose_text, 60)}": {dose}'
    shown_mme = mme_phrase(med) if mme else None
    parts = [
        f"**{md_text(short_name(med), 40)}**"
        + (f" ({note})" if note else "")
        + f" {dose}"
        + (f" ({shown_mme})" if shown_mme else "")
    ]
    since = taken_since(med)
    if med.is_draft:
        parts.append("new order")
    elif since:
        taken = (today - since).days if today and days else 0
        renewed = bool(med.start and since < med.start)
        length = [f"{taken} days"] if taken > 0 else []
        length += ["across renewals"] if renewed else []
        parts.append(f"since {day(since)}" + (f" ({', '.join(length)})" if length else ""))
    if med.end and med.is_active and today and med.end < today:
        # In force by the EHR's status although the order's supply estimate has run out.
        parts.append(f"supply ended {day(med.end)}")
    return ", ".join(parts)


def bullet_list(
    meds: Sequence[MedicationUse],
    today: date | None = None,
    *,
    limit: int = MAX_LISTED,
    days: bool = False,
) -> str:
    """Bullets for the first ``limit`` orders and a count of the rest (cards stay short)."""
    lines = [f"- {describe(m, today, days=days)}" for m in meds[:limit]]
    if len(meds) > limit:
        lines.append(f"- and {len(meds) - limit} more")
    return "\n".join(lines)


def not_checked(
    record: PatientRecord,
    resource_types: Sequence[str],
    what: str,
    *more: tuple[Sequence[str], str],
) -> str | None:
    """'Not checked (no Conditions sent): ...' when any of these data could not be had.

    ``more`` adds (resource types, what) pairs, so one line names everything not checked.
    """
    lacking: list[str] = []
    whats: list[str] = []
    for types, text in ((resource_types, what), *more):
        missing = record.lacks(*types)
        if missing:
            lacking += [t for t in missing if t not in lacking]
            whats.append(text)
    if not lacking:
        return None
    names = [t + "s" for t in lacking]
    shown = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f"Not checked (no {shown} sent): {'; '.join(whats)}."
