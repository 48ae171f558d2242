"""Opioid + benzodiazepine / other CNS depressant overlap (CDC 2022 rec. 11)."""

from __future__ import annotations

import pytest

from app.cards import opioid_overlap
from app.record import PatientRecord
from tests.cards.builders import C, check_card, cond, deletes, med, record, resources, settings

RULE = opioid_overlap.RULE_ID
OXY = med("oxycodone", daily=20, mme=30)
ALP = med("alprazolam", daily=1)

CASES: list[tuple[str, PatientRecord, str | None]] = [
    ("benzo", record(meds=[OXY, ALP]), "warning"),
    ("gabapentinoid", record(meds=[OXY, med("gabapentin")]), "warning"),
    ("z-drug", record(meds=[OXY, med("zolpidem")]), "warning"),
    ("barbiturate", record(meds=[med("morphine", mme=10), med("phenobarbital")]), "warning"),
    ("mme 49", record(meds=[med("oxycodone", mme=49), ALP]), "warning"),
    ("mme 50", record(meds=[med("oxycodone", mme=50), ALP]), "critical"),
    (
        "mme summed 25+25",
        record(meds=[med("oxycodone", mme=25), med("morphine", mme=25), ALP]),
        "critical",
    ),
    ("age 64", record(age=64, meds=[OXY, ALP]), "warning"),
    ("age 65", record(age=65, meds=[OXY, ALP]), "critical"),
    ("age 17", record(age=17, meds=[OXY, ALP]), None),
    ("age 18", record(age=18, meds=[OXY, ALP]), "warning"),
    ("age unknown treated as adult", record(age=None, meds=[OXY, ALP]), "warning"),
    (
        "sleep apnoea",
        record(meds=[OXY, ALP], conditions=[cond(C.SLEEP_DISORDERED_BREATHING)]),
        "critical",
    ),
    (
        "inactive sleep apnoea",
        record(meds=[OXY, ALP], conditions=[cond(C.SLEEP_DISORDERED_BREATHING, active=False)]),
        "warning",
    ),
    ("other SUD", record(meds=[OXY, ALP], conditions=[cond(C.SUBSTANCE_USE_DISORDER)]), "critical"),
    ("OUD", record(meds=[OXY, ALP], conditions=[cond(C.OPIOID_USE_DISORDER)]), "critical"),
    ("active cancer", record(meds=[OXY, ALP], conditions=[cond(C.CANCER)]), None),
    (
        "resolved cancer",
        record(meds=[OXY, ALP], conditions=[cond(C.CANCER, active=False)]),
        "warning",
    ),
    ("end of life", record(meds=[OXY, ALP], conditions=[cond(C.END_OF_LIFE)]), None),
    (
        "sickle cell, any status",
        record(meds=[OXY, ALP], conditions=[cond(C.SICKLE_CELL, active=False)]),
        None,
    ),
    ("opioid alone", record(meds=[OXY]), None),
    ("benzo alone", record(meds=[ALP]), None),
    ("opioid + naloxone only", record(meds=[OXY, med("naloxone")]), None),
    ("opioid + unrelated drug", record(meds=[OXY, med("lisinopril")]), None),
    ("stopped benzo", record(meds=[OXY, med("alprazolam", active=False)]), None),
    (
        "injectable-only pair",
        record(meds=[med("morphine", injectable=True), med("midazolam", injectable=True)]),
        None,
    ),
    (
        "periprocedural injectable benzo + oral opioid",
        record(meds=[OXY, med("midazolam", injectable=True)]),
        None,
    ),
    (
        "injectable opioid + home benzo",
        record(meds=[med("morphine", injectable=True), ALP]),
        "warning",
    ),
    ("no doses at all", record(meds=[med("oxycodone"), med("alprazolam")]), "warning"),
]


@pytest.mark.parametrize(("label", "rec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_table(label: str, rec: PatientRecord, expected: str | None) -> None:
    cards = opioid_overlap.evaluate(rec, settings())
    if expected is None:
        assert cards == []
        return
    assert len(cards) == 1
    card = cards[0]
    check_card(card, RULE)
    assert card.indicator == expected
    assert "oxycodone" in card.summary or "morphine" in card.summary


def test_names_class_in_summary() -> None:
    benzo = opioid_overlap.evaluate(record(meds=[OXY, ALP]), settings())[0]
    other = opioid_overlap.evaluate(record(meds=[OXY, med("gabapentin")]), settings())[0]
    assert "benzodiazepine" in benzo.summary and "alprazolam" in benzo.summary
    assert "other CNS depressant" in other.summary and "gabapentin" in other.summary


def test_detail_has_dates_doses_and_total_mme() -> None:
    rec = record(
        meds=[med("oxycodone", mme=20, daily=13.3, days_ago=40), med("hydrocodone", mme=25), ALP]
    )
    card = opioid_overlap.evaluate(rec, settings())[0]
    assert "45 MME/day" in card.detail
    assert "since 2025-04-23" in card.detail
    assert "13.3 mg/day" in card.detail


def test_mme_unknown_is_said_and_partial_total_can_escalate() -> None:
    rec = record(meds=[med("oxycodone", mme=60), med("morphine"), ALP])
    card = opioid_overlap.evaluate(rec, settings())[0]
    assert "MME/day unknown for morphine; the others: up to 60." in card.detail
    assert card.indicator == "critical"


def test_mme_threshold_is_a_setting() -> None:
    rec = record(meds=[med("oxycodone", mme=40), ALP])
    assert opioid_overlap.evaluate(rec, settings())[0].indicator == "warning"
    assert opioid_overlap.evaluate(rec, settings(mme_critical=40))[0].indicator == "critical"


@pytest.mark.parametrize(
    "opioid",
    [
        med("buprenorphine", moud=True),
        med("methadone"),  # methadone with an OUD diagnosis
    ],
    ids=["moud-product", "oud-diagnosis"],
)
def test_moud_not_withheld(opioid) -> None:
    rec = record(meds=[opioid, ALP], conditions=[cond(C.OPIOID_USE_DISORDER)])
    card = opioid_overlap.evaluate(rec, settings())[0]
    check_card(card, RULE)
    name = opioid.ingredient
    assert f"**Do not withhold or reduce {name}** (FDA 2017)" in card.detail
    assert f"coordinate with the {name} prescriber" in card.detail
    assert "MME" not in card.detail
    assert card.source.url == "https://www.fda.gov/Drugs/DrugSafety/ucm575307.htm"


def test_methadone_for_pain_is_not_moud() -> None:
    card = opioid_overlap.evaluate(record(meds=[med("methadone", mme=47), ALP]), settings())[0]
    assert "withhold" not in card.detail
    assert "47 MME/day" in card.detail


def test_naloxone_offered_when_none_active() -> None:
    card = opioid_overlap.evaluate(record(meds=[OXY, ALP]), settings())[0]
    [order] = resources(card, "MedicationRequest")
    assert order["status"] == "draft" and order["intent"] in ("order", "proposal")
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "1725059"
    assert card.selectionBehavior == "any"


def test_no_naloxone_suggestion_when_already_prescribed() -> None:
    card = opioid_overlap.evaluate(record(meds=[OXY, ALP, med("naloxone")]), settings())[0]
    assert resources(card, "MedicationRequest") == []
    assert card.suggestions is None and card.selectionBehavior is None


def test_hospital_naloxone_is_no_rescue_kit_at_home() -> None:
    card = opioid_overlap.evaluate(
        record(meds=[OXY, ALP, med("naloxone", inpatient=True)]), settings()
    )[0]
    assert len(resources(card, "MedicationRequest")) == 1


def test_inpatient_opioid_with_home_benzodiazepine_is_not_outpatient_overlap() -> None:
    assert (
        opioid_overlap.evaluate(
            record(meds=[med("oxycodone", mme=30, inpatient=True), ALP]), settings()
        )
        == []
    )


def _draft(ingredient: str, **kw) -> object:
    return med(ingredient, draft=True, **kw)


FOCUS = [
    (
        "select: selected draft benzo + chart opioid",
        "order-select",
        [OXY, _draft("alprazolam", selected=True)],
        ["MedicationRequest/alprazolam-draft"],
    ),
    ("select: unselected draft benzo", "order-select", [OXY, _draft("alprazolam")], None),
    (
        "select: selected unrelated + unselected benzo draft",
        "order-select",
        [OXY, _draft("lisinopril", selected=True), _draft("alprazolam")],
        None,
    ),
    (
        "select: both selected drafts",
        "order-select",
        [_draft("oxycodone", selected=True), _draft("alprazolam", selected=True)],
        ["MedicationRequest/alprazolam-draft", "MedicationRequest/oxycodone-draft"],
    ),
    (
        "select: selected opioid draft + chart benzo",
        "order-select",
        [ALP, _draft("oxycodone", selected=True)],
        ["MedicationRequest/oxycodone-draft"],
    ),
    (
        "sign: any draft counts",
        "order-sign",
        [OXY, _draft("alprazolam")],
        ["MedicationRequest/alprazolam-draft"],
    ),
    ("sign: no drafts in the pair", "order-sign", [OXY, ALP, _draft("lisinopril")], None),
    (
        "sign: renewal of a chart benzo is not removed",
        "order-sign",
        [OXY, ALP, _draft("alprazolam")],
        [],
    ),
    (
        "sign: MOUD draft is never removed",
        "order-sign",
        [ALP, _draft("buprenorphine", moud=True)],
        [],
    ),
    ("view: chart pair, nothing to remove", "patient-view", [OXY, ALP], []),
]


@pytest.mark.parametrize(("label", "hook", "meds", "removed"), FOCUS, ids=[f[0] for f in FOCUS])
def test_focus_per_hook(label: str, hook: str, meds: list, removed: list[str] | None) -> None:
    cards = opioid_overlap.evaluate(record(meds=meds, hook=hook), settings())
    if removed is None:
        assert cards == []
        return
    [card] = cards
    check_card(card, RULE)
    assert sorted(deletes(card)) == removed


def test_deterministic_uuid() -> None:
    first = opioid_overlap.evaluate(record(meds=[OXY, ALP]), settings())[0]
    again = opioid_overlap.evaluate(record(meds=[ALP, OXY]), settings())[0]
    other = opioid_overlap.evaluate(record(meds=[OXY, med("lorazepam")]), settings())[0]
    assert first.uuid == again.uuid != other.uuid
    assert first.suggestions == again.suggestions


def test_summary_fits_with_many_drugs() -> None:
    names = [
        "alprazolam",
        "lorazepam",
        "clonazepam",
        "diazepam",
        "temazepam",
        "zolpidem",
        "gabapentin",
        "pregabalin",
        "phenobarbital",
    ]
    rec = record(
        meds=[
            OXY,
            med("morphine", mme=10),
            med("hydrocodone", mme=10),
            *[med(n, name=f"{n} 1 MG Oral Tablet long product name") for n in names],
        ]
    )
    card = opioid_overlap.evaluate(rec, settings())[0]
    check_card(card, RULE)
    assert "more" in card.summary
