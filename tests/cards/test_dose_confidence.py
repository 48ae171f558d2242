"""Cards state a dose as the patient's only when it was read exactly (issue #10, item 1 card side).

PRN: "up to N mg/day as needed; confirm actual use". Range: the range. Unknown: what was read and
a request to confirm. A taper schedule is computed only from an exact dose; otherwise the
CarePlan still comes, starting with "confirm the total daily dose" and carrying no numbers.
"""

from __future__ import annotations

import re

import pytest

from app.cards import geriatric, opioid_overlap, taper_plan
from app.cards.common import describe, dose_phrase
from app.record import DoseConfidence
from tests.cards.builders import C, check_card, cond, med, record, resources, settings

EXACT, RANGE, PRN, UNKNOWN = (
    DoseConfidence.EXACT,
    DoseConfidence.RANGE,
    DoseConfidence.AS_NEEDED_MAX,
    DoseConfidence.UNKNOWN,
)
SIG = {
    EXACT: "0.5 mg three times daily",
    RANGE: "0.5-1 mg twice daily",
    PRN: "0.5 mg up to three times daily as needed for anxiety",
    UNKNOWN: "take as directed",
}


def alprazolam(confidence: DoseConfidence, **kwargs: object):  # type: ignore[no-untyped-def]
    daily = {EXACT: 1.5, RANGE: 2.0, PRN: 1.5, UNKNOWN: None}[confidence]
    return med(
        "alprazolam",
        daily=daily,
        confidence=confidence,
        strength=0.5,
        low=1.0 if confidence is RANGE else None,
        dose_text=SIG[confidence],
        days_ago=200,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("confidence", "phrase"),
    [
        (EXACT, "1.5 mg/day"),
        (RANGE, "1-2 mg/day (a range); confirm the total daily dose"),
        (PRN, "up to 1.5 mg/day as needed; confirm actual use"),
        (UNKNOWN, "total daily dose not clear from the order: confirm it"),
    ],
)
def test_dose_phrase_per_confidence(confidence: DoseConfidence, phrase: str) -> None:
    use = alprazolam(confidence)
    assert dose_phrase(use) == phrase
    line = describe(use)
    assert phrase in line
    # An unclear dose quotes what the order says; a number read with its meaning needs no quote.
    assert (SIG[confidence] in line) is (confidence is UNKNOWN)


def test_range_without_its_bottom_is_shown_as_up_to() -> None:
    use = med("lorazepam", daily=2, confidence=RANGE, dose_text="1-2 tablets at bedtime")
    assert dose_phrase(use) == "up to 2 mg/day (a range); confirm the total daily dose"


def test_no_dose_and_no_text_says_not_stated() -> None:
    assert "dose not stated" in describe(med("lorazepam"))


@pytest.mark.parametrize("confidence", [RANGE, PRN, UNKNOWN])
def test_no_taper_schedule_from_a_dose_that_is_not_exact(confidence: DoseConfidence) -> None:
    [card] = taper_plan.evaluate(record(meds=[alprazolam(confidence)]), settings())
    check_card(card, taper_plan.RULE_ID)
    assert "Today's dose" not in card.detail
    assert "no schedule: confirm the total daily dose first" in card.detail
    assert not re.search(r"\d{4}-\d{2}-\d{2}: [\d.]+ mg/day", card.detail)  # no dated steps
    assert "diazepam-equivalent" not in card.detail
    [plan] = resources(card, "CarePlan")
    first = plan["activity"][0]["detail"]
    assert first["description"].startswith("Confirm today's total daily dose of alprazolam")
    assert not re.search(r"\d+(\.\d+)? ?mg/day", first["description"])
    assert all("dailyAmount" not in a["detail"] for a in plan["activity"])


def test_exact_dose_gives_the_schedule() -> None:
    [card] = taper_plan.evaluate(record(meds=[alprazolam(EXACT)]), settings())
    assert card.detail.startswith("- **alprazolam** 1.5 mg/day, since 2024-11-14 (200 days)")
    assert "- First step 2025-06-02: 1.375 mg/day of alprazolam" in card.detail
    plan = resources(card, "CarePlan")[0]  # the plain taper (a long-acting switch may follow)
    assert plan["activity"][0]["detail"]["dailyAmount"]["value"] < 1.5


@pytest.mark.parametrize(
    ("confidence", "evidence"),
    [
        (PRN, "- **alprazolam** up to 1.5 mg/day as needed; confirm actual use, since 2024-11-14"),
        (
            UNKNOWN,
            '- **alprazolam** "take as directed": total daily dose not clear from the order: '
            "confirm it, since 2024-11-14",
        ),
    ],
)
def test_card_says_what_the_order_reads(confidence: DoseConfidence, evidence: str) -> None:
    [card] = taper_plan.evaluate(record(meds=[alprazolam(confidence)]), settings())
    assert card.detail.startswith(evidence)


def test_geriatric_taper_offer_follows_the_same_rule() -> None:
    rec = record(age=78, meds=[alprazolam(PRN)], conditions=[cond(C.SEIZURE, active=False)])
    [card] = geriatric.evaluate(rec, settings(enabled_rules="geriatric-risk"))
    check_card(card, geriatric.RULE_ID)
    assert "Today's dose" not in card.detail
    assert "up to 1.5 mg/day as needed; confirm actual use" in card.detail
    [plan] = resources(card, "CarePlan")
    assert plan["activity"][0]["detail"]["description"].startswith("Confirm today's total")


@pytest.mark.parametrize(("confidence", "up_to"), [(EXACT, ""), (PRN, "up to "), (RANGE, "up to ")])
def test_mme_with_a_prn_or_range_opioid_says_up_to(confidence: DoseConfidence, up_to: str) -> None:
    oxycodone = med(
        "oxycodone",
        daily=40,
        mme=60,
        confidence=confidence,
        dose_text="10 mg every 6 hours as needed for pain",
    )
    rec = record(meds=[oxycodone, alprazolam(EXACT)])
    [card] = opioid_overlap.evaluate(rec, settings())
    check_card(card, opioid_overlap.RULE_ID)
    oxycodone_line = card.detail.split("\n")[0]
    assert f"({up_to}60 MME/day)" in oxycodone_line
    # Escalated on what the order allows, and said so: a missed warning is worse.
    assert card.indicator == "critical"
    assert f"**Higher risk:** {up_to}60 MME/day (>= 50)" in card.detail
    if confidence is not EXACT:
        assert "confirm" in oxycodone_line


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(EXACT, "Total **75 MME/day**"), (PRN, "Total **up to 75 MME/day**")],
)
def test_mme_total_of_several_opioids(confidence: DoseConfidence, expected: str) -> None:
    oxycodone = med("oxycodone", daily=40, mme=60, confidence=confidence)
    morphine = med("morphine", daily=15, mme=15, ref="MedicationRequest/morphine")
    [card] = opioid_overlap.evaluate(
        record(meds=[oxycodone, morphine, alprazolam(EXACT)]), settings()
    )
    assert expected + " (CDC 2022 factors; an estimate)." in card.detail


def test_mme_partly_unknown_is_up_to_when_a_known_part_is_a_maximum() -> None:
    prn = med("oxycodone", daily=40, mme=60, confidence=PRN)
    unknown = med("morphine", ref="MedicationRequest/morphine")
    [card] = opioid_overlap.evaluate(record(meds=[prn, unknown, alprazolam(EXACT)]), settings())
    assert "MME/day unknown for morphine; the others: up to 60." in card.detail
