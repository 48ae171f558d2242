"""Long-term BZRA without a taper plan or recent review (ASAM 2025)."""

from __future__ import annotations

from datetime import date

import pytest

from app.cards import taper_plan
from app.record import PatientRecord, PlanKind
from tests.cards.builders import C, check_card, cond, med, plan, record, resources, settings

RULE = taper_plan.RULE_ID
ALP = med("alprazolam", daily=1, dose_text="0.5 mg twice daily", days_ago=120)

CASES: list[tuple[str, PatientRecord, bool]] = [
    ("long-term benzo", record(meds=[ALP]), True),
    ("long-term z-drug", record(meds=[med("zolpidem", daily=10, days_ago=200)]), True),
    ("day 27", record(meds=[med("alprazolam", daily=1, days_ago=27)]), False),
    ("day 28", record(meds=[med("alprazolam", daily=1, days_ago=28)]), True),
    ("no start date", record(meds=[med("alprazolam", daily=1, no_start=True)]), False),
    ("stopped", record(meds=[med("alprazolam", days_ago=200, active=False)]), False),
    ("opioid only", record(meds=[med("oxycodone", days_ago=200)]), False),
    ("injectable", record(meds=[med("midazolam", days_ago=200, injectable=True)]), False),
    ("taper plan on record", record(meds=[ALP], plans=[plan(PlanKind.TAPER_PLAN)]), False),
    (
        "inactive taper plan does not count",
        record(meds=[ALP], plans=[plan(PlanKind.TAPER_PLAN, active=False)]),
        True,
    ),
    (
        "order mentions taper",
        record(meds=[med("alprazolam", days_ago=90, mentions_taper=True)]),
        False,
    ),
    (
        "review 90 days ago",
        record(meds=[ALP], plans=[plan(PlanKind.MEDICATION_REVIEW, days_ago=90)]),
        False,
    ),
    (
        "review 91 days ago",
        record(meds=[ALP], plans=[plan(PlanKind.MEDICATION_REVIEW, days_ago=91)]),
        True,
    ),
    (
        "review without date",
        record(meds=[ALP], plans=[plan(PlanKind.MEDICATION_REVIEW, days_ago=None)]),
        True,
    ),
    ("seizure disorder", record(meds=[ALP], conditions=[cond(C.SEIZURE)]), False),
    ("withdrawal", record(meds=[ALP], conditions=[cond(C.WITHDRAWAL)]), False),
    ("palliative care", record(meds=[ALP], conditions=[cond(C.END_OF_LIFE)]), False),
    (
        "past seizure condition",
        record(meds=[ALP], conditions=[cond(C.SEIZURE, active=False)]),
        True,
    ),
    (
        "renewed 10 days ago, taken for 100",
        record(meds=[med("alprazolam", daily=1, days_ago=10, episode_days_ago=100)]),
        True,
    ),
    (
        "renewed 10 days ago, episode of 27 days",
        record(meds=[med("alprazolam", daily=1, days_ago=10, episode_days_ago=27)]),
        False,
    ),
    (
        "inpatient order",
        record(meds=[med("alprazolam", daily=1, days_ago=120, inpatient=True)]),
        False,
    ),
    (
        "ordered for seizures",
        record(meds=[med("clonazepam", days_ago=100, reasons=(C.SEIZURE,))]),
        False,
    ),
    ("no dose known", record(meds=[med("lorazepam", days_ago=400)]), True),
]


@pytest.mark.parametrize(("label", "rec", "fires"), CASES, ids=[c[0] for c in CASES])
def test_table(label: str, rec: PatientRecord, fires: bool) -> None:
    cards = taper_plan.evaluate(rec, settings())
    assert len(cards) == int(fires)
    # The geriatric card asks fires() instead of building a second CarePlan.
    assert taper_plan.fires(rec, settings()) is fires
    for card in cards:
        check_card(card, RULE)
        assert card.indicator == "warning"
        assert "never stop abruptly" in card.detail.lower()
        assert card.selectionBehavior == "at-most-one"
        careplans = resources(card, "CarePlan")
        # The taper, and for a short-acting benzodiazepine the long-acting switch (ASAM rec. 7).
        assert 1 <= len(careplans) <= 2
        assert all(c["intent"] == "proposal" for c in careplans)


def test_thresholds_are_settings() -> None:
    rec = record(meds=[med("alprazolam", daily=1, days_ago=20)])
    assert taper_plan.evaluate(rec, settings()) == []
    assert taper_plan.evaluate(rec, settings(long_term_days=14))
    reviewed = record(meds=[ALP], plans=[plan(PlanKind.MEDICATION_REVIEW, days_ago=60)])
    assert taper_plan.evaluate(reviewed, settings()) == []
    assert taper_plan.evaluate(reviewed, settings(review_interval_days=30))


def test_schedule_numbers_for_alprazolam_1mg() -> None:
    card = taper_plan.evaluate(record(meds=[ALP]), settings())[0]
    assert "alprazolam" in card.summary
    # Today's dose, the first step, the pace as computed and the end; every step in the plan.
    assert card.detail.split("\n")[:6] == [
        "- **alprazolam** 1 mg/day, since 2025-02-02 (120 days)",
        "",
        "**Proposed taper** (ASAM 2025 rec. 6):",
        "- First step 2025-06-02: 0.875 mg/day of alprazolam (-12.5%): 3½ tablets of 0.25 mg a day",
        "- Pace: 12.5% of the starting dose every 2 weeks, never more than 25% of the current "
        "dose in 2 weeks; the last 3 steps every 3-8 weeks",
        "- Ends 2025-11-10",
    ]
    careplan, switch = resources(card, "CarePlan")
    assert switch["title"] == "Switch alprazolam to diazepam, then taper"
    assert (
        "- Or switch first to 10 mg/day diazepam, table 10-20 mg (rec. 7; second suggestion)"
    ) in card.detail
    assert [s.isRecommended for s in card.suggestions or ()] == [True, False]
    steps = [
        a["detail"] for a in careplan["activity"] if a["detail"]["kind"] == "MedicationRequest"
    ]
    doses = [s["dailyAmount"]["value"] for s in steps]
    # Half of the smallest alprazolam tablet (0.25 mg, scored) is the dose unit.
    assert doses == [0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0]
    starts = [date.fromisoformat(s["scheduledPeriod"]["start"]) for s in steps]
    assert starts[0] == date(2025, 6, 2)
    gaps = [(b - a).days for a, b in zip(starts, starts[1:], strict=False)]
    # <= 25% per 2 weeks: a one-unit step of a third waits 3 weeks, of a half 4, the last 8.
    assert gaps == [14, 14, 14, 14, 21, 28, 56]
    assert steps[0]["description"] == (
        "2025-06-02: 0.875 mg/day of alprazolam (-12.5%): 3½ tablets of 0.25 mg a day"
    )
    assert careplan["description"].startswith(
        "Gradual taper of alprazolam agreed with the patient (ASAM 2025 joint guideline): "
        "12.5% of the starting dose every 2 weeks, never more than 25% of the current dose in 2 "
        "weeks; the last 3 steps every 3-8 weeks"
    )
    followup = [a["detail"] for a in careplan["activity"] if a["detail"]["kind"] == "Appointment"]
    assert followup[0]["scheduledPeriod"]["end"] == "2025-06-30"
    assert careplan["period"]["end"] == starts[-1].isoformat()


def test_schedule_never_exceeds_pace() -> None:
    rec = record(meds=[med("diazepam", daily=30, days_ago=400)])
    card = taper_plan.evaluate(rec, settings())[0]
    [careplan] = resources(card, "CarePlan")
    steps = [a["detail"] for a in careplan["activity"] if "dailyAmount" in a["detail"]]
    previous, previous_start = 30.0, None
    for step in steps:
        dose = step["dailyAmount"]["value"]
        start = date.fromisoformat(step["scheduledPeriod"]["start"])
        assert dose < previous
        assert dose == round(dose)  # multiples of 1 mg (half of a 2 mg tablet)
        if previous_start is not None:
            weeks = (start - previous_start).days / 14
            assert (previous - dose) / previous <= 0.25 * weeks + 1e-9
        previous, previous_start = dose, start
    assert steps[-1]["dailyAmount"]["value"] == 0 or "keep going" in card.detail


def test_unknown_dose_explains_without_numbers() -> None:
    card = taper_plan.evaluate(record(meds=[med("lorazepam", days_ago=400)]), settings())[0]
    assert "no schedule: confirm the total daily dose first" in card.detail
    assert "mg/day of lorazepam (-" not in card.detail
    [careplan] = resources(card, "CarePlan")
    assert all("dailyAmount" not in a["detail"] for a in careplan["activity"])
    assert careplan["activity"][0]["detail"]["description"].startswith(
        "Confirm today's total daily dose of lorazepam"
    )


def test_largest_dose_is_tapered_first() -> None:
    rec = record(
        meds=[med("zolpidem", daily=5, days_ago=300), med("diazepam", daily=20, days_ago=100)]
    )
    card = taper_plan.evaluate(rec, settings())[0]
    assert "**Proposed taper of diazepam** (ASAM 2025 rec. 6; one drug at a time):" in card.detail
    assert "- Also long-term: zolpidem" in card.detail
    [careplan] = resources(card, "CarePlan")
    assert careplan["title"] == "Gradual taper of diazepam"


FOCUS = [
    (
        "select: selected renewal draft",
        "order-select",
        [ALP, med("alprazolam", draft=True, selected=True)],
        True,
    ),
    (
        "select: unselected renewal draft",
        "order-select",
        [ALP, med("alprazolam", draft=True)],
        False,
    ),
    ("select: no draft", "order-select", [ALP], False),
    ("sign: renewal draft", "order-sign", [ALP, med("alprazolam", draft=True)], True),
    ("sign: unrelated draft only", "order-sign", [ALP, med("lisinopril", draft=True)], False),
    ("sign: new draft, nothing long-term", "order-sign", [med("alprazolam", draft=True)], False),
]


@pytest.mark.parametrize(("label", "hook", "meds", "fires"), FOCUS, ids=[f[0] for f in FOCUS])
def test_focus_per_hook(label: str, hook: str, meds: list, fires: bool) -> None:
    cards = taper_plan.evaluate(record(meds=meds, hook=hook), settings())
    assert len(cards) == int(fires)
    for card in cards:
        check_card(card, RULE)


def test_deterministic_uuid() -> None:
    a = taper_plan.evaluate(record(meds=[ALP]), settings())[0]
    b = taper_plan.evaluate(record(meds=[ALP]), settings())[0]
    c = taper_plan.evaluate(record(meds=[ALP], patient_id="p2"), settings())
    assert a == b
    assert c and c[0].uuid != a.uuid
